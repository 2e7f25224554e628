"""The reports benchmark, run tiny: every operation runs in its own process over a
generated district, and the figures it prints are the ones it measured."""

from __future__ import annotations

import pytest

from bench import reports


async def test_a_tiny_run_measures_every_operation(capsys: pytest.CaptureFixture[str]) -> None:
    printed = await reports.main(["--sizes", "300", "--db", "sqlite"])
    assert printed[0].startswith("sqlite, 300 items: generated 300 items, ")
    assert "a process that has imported everything" in printed[1]
    for line, operation in zip(printed[2:], reports.OPERATIONS, strict=True):
        assert line.split()[0] == operation
        assert " s   peak " in line
    assert "rows" in printed[3]  # the export counts what it wrote
    assert "summary:" in capsys.readouterr().out


async def test_generated_items_cover_every_stage() -> None:
    items, events, ratings = reports.Generator().chunk(1, 2000)
    assert {i["status"] for i in items} == {s for s, _d, _w in reports.STAGES}
    assert len(events) > len(items)
    assert {e["suggestion_id"] for e in events} == {i["id"] for i in items}
    assert all(r["suggestion_id"] in {i["id"] for i in items} for r in ratings)
