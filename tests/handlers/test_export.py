"""/export's workbook (issue 21): written to a file that goes once it is sent; a period
too big for Telegram offered by the quarter or the month, with the server's command for
the whole; a shared location's coordinates and map link; the on-time column named for
what it holds."""

from __future__ import annotations

import asyncio
import io
import os
import random
import tempfile
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from bot.domain.periods import month_period, parse_period, quarter_period, year_period
from bot.domain.statuses import DayKind
from bot.i18n import EN, build_i18n
from bot.reports.workbook import WorkbookWriter
from bot.services.actors import SYSTEM
from bot.services.context import Policy
from bot.services.export import ExportService
from handlers import documents, figures
from handlers.callbacks import ExportCb
from storage.engine import engine_of, writer
from storage.models import CalendarDay, Suggestion
from storage.store import Store
from tests.figures_fixture import TODAY, seed_quarter
from tests.handlers.conftest import make_settings, new_telegram
from tests.telegram import Person, Telegram
from tests.world import ADMIN, FixedClock, World

GROUP = -100500


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TODAY)


@pytest.fixture
async def quarter(sessions: Any, world: World) -> Any:
    return await seed_quarter(sessions, world)


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the workbooks are written before they are sent, watched on its own."""
    where = tmp_path / "temp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


@pytest.fixture
async def tg(sessions: Any, world: World, clock: FixedClock) -> AsyncIterator[Telegram]:
    tg = new_telegram(sessions, clock, settings=make_settings(default_locale="en"))
    yield tg
    await tg.bot.session.close()
    assert tg.session.problems == []


def leftovers(where: Path) -> list[str]:
    return os.listdir(where)


def admin(tg: Telegram) -> Person:
    return tg.member(ADMIN, "Ada", GROUP, "administrator", language_code="en")


def items_of(data: bytes | None) -> list[dict[str, Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data or b""))["Items"]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


async def test_the_workbook_is_sent_from_a_file_that_then_goes(
    tg: Telegram, quarter: Any, temp_dir: Path
) -> None:
    replies = await admin(tg).send("/export 2026-Q2 en")
    [document] = [r for r in replies if r.kind == "document"]

    assert document.file_name == "outpost-export-2026-Q2-en.xlsx"
    assert len(items_of(document.data)) == 10
    assert leftovers(temp_dir) == []


async def test_a_shared_location_is_written_with_its_map_link(
    tg: Telegram, quarter: Any, sessions: Any
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(Suggestion)
            .where(Suggestion.reference == "WZ-2026-0002")
            .values(location_text=None, latitude=29.563, longitude=106.551)
        )
        await session.execute(
            sa.update(Suggestion)
            .where(Suggestion.reference == "WZ-2026-0003")
            .values(location_text="人民路 12 号", latitude=29.5, longitude=106.5)
        )
    [document] = [r for r in await admin(tg).send("/export 2026-Q2 en") if r.kind == "document"]
    rows = {row["Reference"]: row for row in items_of(document.data)}

    shared = rows["WZ-2026-0002"]
    assert shared["Location"] == "29.56300, 106.55100"
    assert shared["Map"] == (
        "https://www.openstreetmap.org/?mlat=29.56300&mlon=106.55100#map=17/29.56300/106.55100"
    )
    # Written as well as shared: the words, and the point on the map.
    assert rows["WZ-2026-0003"]["Location"] == "人民路 12 号"
    assert rows["WZ-2026-0003"]["Map"].startswith("https://www.openstreetmap.org/?mlat=29.50000&")
    assert rows["WZ-2026-0001"]["Map"] is None


async def test_the_on_time_column_says_yes_or_no_under_a_header_that_says_so(
    tg: Telegram, quarter: Any
) -> None:
    [document] = [r for r in await admin(tg).send("/export 2026-Q2 en") if r.kind == "document"]
    rows = items_of(document.data)

    assert "Implemented on time" not in rows[0]  # a rate's name over a yes/no column
    assert {row["Implemented by the due date"] for row in rows} <= {"yes", "no", None}
    assert rows[0]["Implemented by the due date"] == "yes"
    [document] = [r for r in await admin(tg).send("/export 2026-Q2 zh") if r.kind == "document"]
    header = [c.value for c in openpyxl.load_workbook(io.BytesIO(document.data or b""))["事项"][1]]
    assert "按时落实率" not in header


# ---- too big to send --------------------------------------------------------------------


async def test_a_year_too_big_to_send_is_offered_by_the_quarter(
    tg: Telegram, quarter: Any, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "UPLOAD_MAX", 2_000)
    ada = admin(tg)
    [reply] = await ada.send("/export 2026 en")

    assert reply.kind == "text"
    text = reply.plain
    assert "The workbook for 2026 (2026-01-01 to 2026-12-31) would be more than" in text
    assert "Ask for it a quarter at a time: tap a button below, or send" in text
    for quarter_number in range(1, 5):
        assert f"/export 2026-Q{quarter_number} en" in text
    assert "For the whole period in one file, run this on the server:" in text
    assert "outpost export --period 2026 --lang en --out outpost-export-2026-en.xlsx" in text
    buttons = reply.buttons()
    assert [label for label, _data in buttons] == ["Q1 2026", "Q2 2026", "Q3 2026", "Q4 2026"]
    assert ExportCb.unpack(buttons[1][1]) == ExportCb(period="2026-Q2", lang="en")
    assert leftovers(temp_dir) == []  # the workbook that was too big is gone

    # A quarter still too big: its months.
    [reply] = await ada.press("Q2 2026", message=reply)
    assert "Ask for it a month at a time" in reply.plain
    assert [label for label, _data in reply.buttons()] == ["April 2026", "May 2026", "June 2026"]
    assert "/export 2026-06 en" in reply.plain

    # Small enough: the quarter's workbook.
    monkeypatch.setattr(documents, "UPLOAD_MAX", 50_000_000)
    replies = await ada.press("June 2026", message=reply)
    [document] = [r for r in replies if r.kind == "document"]
    assert document.file_name == "outpost-export-2026-06-en.xlsx"
    assert {row["Reference"] for row in items_of(document.data)} >= {"WZ-2026-0010"}
    assert leftovers(temp_dir) == []


async def test_a_month_too_big_is_for_the_server(
    tg: Telegram, quarter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "UPLOAD_MAX", 2_000)
    [reply] = await admin(tg).send("/export 2026-06")

    assert reply.buttons() == []
    assert "Ask for it" not in reply.plain
    assert "outpost export --period 2026-06 --lang en --out outpost-export-2026-06-en.xlsx" in (
        reply.plain
    )


async def test_a_stale_export_button_says_so(
    tg: Telegram, quarter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "UPLOAD_MAX", 2_000)
    ada = admin(tg)
    [offer] = await ada.send("/export 2026 en")
    for stale in (ExportCb(period="2026-13", lang="en"), ExportCb(period="2026-Q1", lang="fr")):
        assert await ada.callback(stale.pack(), message=offer) == []
        assert tg.session.alerts[-1][1] == "This button is out of date: send /export again."


def test_a_district_is_named_in_the_servers_command() -> None:
    i18n = build_i18n("en")
    district = Policy(jurisdiction="FL", office_id=7)
    with i18n.context(), i18n.use_locale(EN):
        text, markup = figures._too_big(parse_period("400d", date(2026, 7, 1)), EN, district)
        days, _ = figures._too_big(parse_period("30d", date(2026, 7, 1)), EN, district)
    assert "outpost export --period 400d --lang en --office FL --out" in text
    # 400 days touch 14 months: offered by the year.
    assert markup is not None
    assert [b.text for row in markup.inline_keyboard for b in row] == ["2025", "2026"]
    assert "Ask for it a month at a time" in days


# ---- the limit, checked as the workbook is written -----------------------------------------


async def test_writing_stops_once_past_the_limit() -> None:
    read = 0

    async def rows() -> AsyncIterator[list[tuple[str]]]:
        nonlocal read
        rng = random.Random(21)
        for _part in range(1000):
            read += 1
            # Chinese text at random, which does not compress away.
            yield [
                ("".join(chr(0x4E00 + rng.randrange(20_000)) for _ in range(40)),)
                for _row in range(200)
            ]

    wb = WorkbookWriter(ZoneInfo("Asia/Shanghai"))
    sheet = documents.Sheet("items", "Items", rows(), [documents.Column("Text", 40)])
    with build_i18n("en").context(), pytest.raises(documents.TooBig):
        await documents._write_sheet(wb, sheet, None, 300_000)
    wb.discard()
    assert read < 100  # stopped soon after the limit, not at the end


def test_periods_split() -> None:
    with build_i18n("en").context():
        quarters = figures._parts(year_period(2026))
        months = figures._parts(month_period(2026, 6))
    assert [p.spec for p, _label in quarters] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert months == []


async def test_moments_are_local_in_a_zone_with_summer_time(sessions: Any, quarter: Any) -> None:
    # Shanghai keeps one offset, which the database adds; Berlin's changes, and each
    # moment is made local as it is written.
    berlin = Policy(tz=ZoneInfo("Europe/Berlin"))
    async with sessions() as session, session.begin():
        export = ExportService(Store(session), berlin)
        buffer = io.BytesIO()
        with build_i18n("en").context():
            done = await documents.workbook(export, SYSTEM, quarter_period(2026, 2), berlin, buffer)
    rows = {row["Reference"]: row for row in items_of(buffer.getvalue())}
    assert done.rows["items"] == len(rows)
    # Filed at 10:00 in Shanghai on 1 April: 04:00 in Berlin (summer time).
    assert rows["WZ-2026-0001"]["Filed"] == datetime(2026, 4, 1, 4, 0)


async def test_the_workbook_is_made_after_commit_holding_no_one_up(
    tg: Telegram, quarter: Any, sessions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A big city's year takes seconds to write: meanwhile other updates must get the
    # database's writer (on SQLite, one at a time), so the export waits for no one.
    made = documents.workbook
    wrote: list[str] = []

    async def writing_meanwhile(*args: Any, **kwargs: Any) -> Any:
        async def write() -> None:
            async with sessions() as session, writer(engine_of(sessions)), session.begin():
                session.add(CalendarDay(day=date(2026, 12, 31), kind=DayKind.HOLIDAY, name="x"))

        await asyncio.wait_for(write(), timeout=5)
        wrote.append("while exporting")
        return await made(*args, **kwargs)

    monkeypatch.setattr(documents, "workbook", writing_meanwhile)
    replies = await admin(tg).send("/export 2026-Q2 en")
    assert [r.kind for r in replies if r.kind == "document"] == ["document"]
    assert wrote == ["while exporting"]


async def test_an_export_that_fails_after_commit_says_so(
    tg: Telegram, quarter: Any, monkeypatch: pytest.MonkeyPatch, temp_dir: Path
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(documents, "workbook", broken)
    replies = await admin(tg).send("/export 2026-Q2 en")
    assert [r.kind for r in replies if r.kind == "document"] == []
    assert any("something went wrong" in r.text for r in replies)
    assert leftovers(temp_dir) == []
