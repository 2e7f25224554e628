"""The reports benchmark, run tiny: every operation runs in its own process over a
generated district, and the figures it prints are the ones it measured."""

from __future__ import annotations

import re

import pytest

from bench import reports

FIGURES = re.compile(
    r"FIGURES sqlite items 300 stats \d+\.\d\ds stats/10k 1\.0 report \d+\.\d\ds "
    r"report/10k 1\.0 export \d+\.\ds export/raw \d+\.\d rss-start \d+MB rss-peak \d+MB"
)


async def test_a_tiny_run_measures_every_operation(capsys: pytest.CaptureFixture[str]) -> None:
    printed = await reports.main(["--sizes", "300", "--db", "sqlite"])
    assert printed[0].startswith("sqlite, 300 items: generated 300 items, ")
    assert "a process that has imported everything" in printed[1]
    # The raw dump runs right after the export.
    ran = ["stats", "export", reports.RAW, "report", "docx"]
    for line, operation in zip(printed[2:-1], ran, strict=True):
        assert line.split()[0] == operation
        assert " s   peak " in line
        assert "start " in line
    export, raw = printed[3], printed[4]
    assert "rows" in export  # the export counts what it wrote
    # ... and the raw dump read as many rows.
    assert export.rsplit(", ", 1)[1] == raw.rsplit(", ", 1)[1]
    assert FIGURES.fullmatch(printed[-1]), printed[-1]
    assert "summary:" in capsys.readouterr().out


async def test_generated_items_cover_every_stage() -> None:
    items, events, ratings = reports.Generator(2000).chunk(1, 2000)
    column = reports.ITEM_COLUMNS.index
    ids = {i[column("id")] for i in items}
    assert {i[column("status")] for i in items} == {s.value for s, _d, _w in reports.STAGES}
    assert len(events) > len(items)
    assert {e[reports.EVENT_COLUMNS.index("suggestion_id")] for e in events} == ids
    assert all(r[reports.RATING_COLUMNS.index("suggestion_id")] in ids for r in ratings)
    # Filed in id order, within 2026, each with its local day.
    filed = [i[column("submitted_at")] for i in items]
    assert filed == sorted(filed)
    assert filed[0].year == filed[-1].year == 2026
    assert all(str(i[column("submitted_day")]).startswith("2026") for i in items)
    assert all(len(row) == len(reports.ITEM_COLUMNS) for row in items)


def test_chunks_made_ahead_cover_every_item_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reports, "CHUNK", 100)
    for n in (1, 100, 250, 500):
        chunks = list(reports._chunks(reports.Generator(n), n))
        assert [row[0] for items, _e, _r in chunks for row in items] == list(range(1, n + 1))
        events = [row[0] for _i, events, _r in chunks for row in events]
        assert events == list(range(1, len(events) + 1))
