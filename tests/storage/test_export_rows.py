"""The workbook's rows read with Core (``storage.repositories.export_rows``).

Statements run on the connection do not pass through the office scope's ORM hook, so
the repository limits them itself. Here each statement of the workbook is run both
ways in a deployment of two districts, an item of one reported to the other, a finding
raised by one for the other, an item marked as duplicating another office's: the rows
read with Core, limited by the repository, are exactly those the ORM, limited by
``storage.scope``, gives for the same statement without the repository's limit. And the
serial dates the database computes are Excel's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.domain.offices import HOME
from bot.domain.periods import year_period
from bot.domain.statuses import RatingValue, SuggestionKind, SuggestionStatus
from bot.reports.workbook import excel_serial
from bot.services.actors import identify
from bot.services.suggestions import SuggestionService
from storage.models import PrivacyRecord, Rating, Rectification, Suggestion
from storage.repositories.export_rows import (
    ExportRowsRepository,
    Shown,
    day_serial,
    utc_serial,
)
from storage.scope import limit_to_office
from storage.store import Store
from tests.services.test_office_scope import FRANK, bring_in
from tests.world import ALICE, BOB, POLICY, FixedClock, World, build_world, draft

OFFICE_TZ = POLICY.tz


@pytest.fixture
async def world(sessions: Any) -> World:
    return await build_world(sessions)


async def _two_districts(sessions: Any) -> int:
    """WZ (home) and FL side by side, with items of both that cross: FL's id."""
    clock = FixedClock()
    office, _policy = await bring_in(sessions, clock)
    async with sessions() as session, session.begin():
        store = Store(session)
        service = SuggestionService(store, POLICY, clock)
        mine = await service.submit(await identify(store, ALICE), draft(key="a1"))
        reported = await service.submit(await identify(store, BOB), draft(key="b1"))
        theirs = await service.submit(await identify(store, FRANK), draft(key="f1"))
        other = await service.submit(await identify(store, FRANK), draft(key="f2"))
        # A WZ item reported to FL (as to a city), an FL item duplicating a WZ one, a
        # shared location, a rating, a finding FL raised for WZ, an anonymised record.
        await session.execute(
            sa.update(Suggestion).where(Suggestion.id == reported.id).values(above_id=office.id)
        )
        await session.execute(
            sa.update(Suggestion)
            .where(Suggestion.id == other.id)
            .values(duplicate_of_id=mine.id, latitude=29.563, longitude=106.551)
        )
        theirs_row = await session.get(Suggestion, theirs.id)
        assert theirs_row is not None
        session.add_all(
            [
                Rating(
                    suggestion_id=mine.id,
                    observer_id=theirs_row.observer_id,
                    value=RatingValue.SATISFIED,
                    comment="好",
                ),
                Rating(
                    suggestion_id=theirs.id,
                    observer_id=theirs_row.observer_id,
                    value=RatingValue.DISSATISFIED,
                ),
                Rectification(
                    office_id=HOME,
                    raised_by_id=office.id,
                    text="整改",
                    due=date(2026, 9, 30),
                    status="raised",
                ),
                PrivacyRecord(
                    action="anonymised", subject="observer", subject_id=theirs_row.observer_id
                ),
            ]
        )
    return office.id


# Words for some of what is stored, and an offset: as the workbook reads them.
SHOWN = Shown(
    {
        SuggestionKind: {"problem": "问题"},
        SuggestionStatus: {"submitted": "已提交"},
        bool: {True: "是", False: "否"},
    },
    8 / 24,
)


def _statements(repo: ExportRowsRepository, office: int | None) -> dict[str, Any]:
    lo, hi = year_period(2026).bounds(OFFICE_TZ)
    return {
        "items": repo.item_statement(lo, hi, office, SHOWN),
        "events": repo.event_statement(lo, hi, office, SHOWN),
        "ratings": repo.rating_statement(lo, hi, office, SHOWN),
        "rectifications": repo.rectification_statement(office, SHOWN),
        "observers": repo.observer_statement(office, SHOWN),
        "points": repo.point_statement(office, SHOWN),
        "departments": repo.department_statement(office, SHOWN),
    }


async def _core_rows(repo: ExportRowsRepository) -> dict[str, list[tuple[Any, ...]]]:
    lo, hi = year_period(2026).bounds(OFFICE_TZ)
    streams = {
        "items": repo.item_rows(lo, hi, SHOWN),
        "events": repo.event_rows(lo, hi, SHOWN),
        "ratings": repo.rating_rows(lo, hi, SHOWN),
        "rectifications": repo.rectification_rows(SHOWN),
        "observers": repo.observer_rows(SHOWN),
        "points": repo.point_rows(SHOWN),
        "departments": repo.department_rows(SHOWN),
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    for name, stream in streams.items():
        out[name] = [tuple(row) async for part in stream for row in part]
    return out


async def test_core_rows_are_limited_as_the_orm_scope_limits_them(
    sessions: Any, world: World
) -> None:
    district = await _two_districts(sessions)
    seen: dict[int | None, dict[str, list[tuple[Any, ...]]]] = {}
    for office in (HOME, district, None):
        async with sessions() as session, session.begin():
            if office is not None:
                limit_to_office(session, office)
            repo = ExportRowsRepository(session)
            core = await _core_rows(repo)
            for name, stmt in _statements(repo, None).items():
                # The ORM's way: storage.scope adds the office's criteria.
                orm = [tuple(row) for row in (await session.execute(stmt)).all()]
                assert core[name] == orm, f"{name} for office {office}"
            assert await repo.any_rectification()
            seen[office] = core

    def references(office: int | None) -> set[str]:
        return {row[0] for row in seen[office]["items"]}

    # Each district holds its own items (and WZ's item reported to FL is FL's too).
    assert references(HOME) == {"WZ-2026-0001", "WZ-2026-0002"}
    assert references(district) == {"FL-2026-0001", "FL-2026-0002", "WZ-2026-0002"}
    assert references(None) == references(HOME) | references(district)
    assert {row[0] for row in seen[HOME]["events"]} <= references(HOME)
    assert {row[0] for row in seen[district]["events"]} <= references(district)
    assert [row[0] for row in seen[HOME]["ratings"]] == ["WZ-2026-0001"]
    assert [row[0] for row in seen[district]["ratings"]] == ["FL-2026-0001"]
    assert [row[0] for row in seen[district]["points"]] == ["FL01"]
    assert "FL01" not in {row[0] for row in seen[HOME]["points"]}
    assert {row[1] for row in seen[district]["observers"]} == {"Frank"}
    assert "Frank" not in {row[1] for row in seen[HOME]["observers"]}
    assert seen[district]["departments"] == []
    # The finding is both offices' (WZ puts it right, FL raised it).
    assert len(seen[HOME]["rectifications"]) == len(seen[district]["rectifications"]) == 1
    # FL's item marked as a duplicate of WZ's: FL cannot see which.
    [duplicate] = [row for row in seen[district]["items"] if row[0] == "FL-2026-0002"]
    assert duplicate[25] is None
    [duplicate] = [row for row in seen[None]["items"] if row[0] == "FL-2026-0002"]
    assert duplicate[25] == "WZ-2026-0001"
    assert (duplicate[12], duplicate[13]) == (29.563, 106.551)
    # In words where words were given, as stored where not.
    assert (duplicate[2], duplicate[3], duplicate[14]) == (
        "问题",
        "governance",
        "已提交",
    )
    assert duplicate[19] is None  # not decided: neither yes nor no


async def test_serial_dates_are_excels(sessions: Any, world: World) -> None:
    moment = datetime(2026, 6, 30, 16, 30, 15, 250_000, tzinfo=UTC)
    async with sessions() as session, session.begin():
        store = Store(session)
        filed = await SuggestionService(store, POLICY, FixedClock(moment)).submit(
            await identify(store, ALICE), draft(key="a1")
        )
        row = (
            await (await session.connection()).execute(
                sa.select(
                    utc_serial(Suggestion.submitted_at),
                    day_serial(Suggestion.decision_due),
                    utc_serial(Suggestion.closed_at),
                    Suggestion.decision_due,
                ).where(Suggestion.id == filed.id)
            )
        ).one()
    serial, day, closed, due = row
    assert isinstance(serial, float)
    assert abs(serial - excel_serial(moment, ZoneInfo("UTC"))) < 1e-8  # 1 ms
    assert day == due.toordinal() - date(1899, 12, 30).toordinal()
    assert isinstance(day, int)
    assert closed is None
