"""The working-day calendar's exceptions are kept a short while per database, since
every due date worked out reads them: this process's change is seen as soon as it
commits (however it was made), a rolled-back one never, and another process's within
``KEPT.seconds``."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from bot.domain.statuses import DayKind
from bot.services.context import Service
from storage.models import CalendarDay
from storage.repositories import calendar_kept
from storage.store import Store

NEW_YEAR = date(2027, 1, 1)
MAKE_UP = date(2027, 1, 9)  # a Saturday


async def exceptions(sessions) -> tuple[frozenset[date], frozenset[date]]:
    async with sessions() as session, session.begin():
        return await Store(session).calendar.exceptions()


async def test_a_change_here_is_seen_at_once_and_a_rollback_never(sessions):
    assert await exceptions(sessions) == (frozenset(), frozenset())
    async with sessions() as session, session.begin():
        await Store(session).calendar.put(NEW_YEAR, DayKind.HOLIDAY, "元旦")
        # The transaction that changes it reads it afresh.
        assert await Store(session).calendar.exceptions() == ({NEW_YEAR}, frozenset())
    assert await exceptions(sessions) == ({NEW_YEAR}, frozenset())

    class Undone(Exception):
        pass

    async def undone() -> None:
        async with sessions() as session, session.begin():
            await Store(session).calendar.put(MAKE_UP, DayKind.WORKDAY, "调休")
            raise Undone

    with pytest.raises(Undone):
        await undone()
    assert await exceptions(sessions) == ({NEW_YEAR}, frozenset())


async def test_a_day_added_or_removed_through_any_session_is_seen_at_once(sessions):
    assert await exceptions(sessions) == (frozenset(), frozenset())
    async with sessions() as session, session.begin():
        session.add(CalendarDay(day=MAKE_UP, kind=DayKind.WORKDAY, name="调休"))
    assert await exceptions(sessions) == (frozenset(), {MAKE_UP})
    async with sessions() as session, session.begin():
        assert await Store(session).calendar.remove(MAKE_UP)
    assert await exceptions(sessions) == (frozenset(), frozenset())
    async with sessions() as session, session.begin():
        await Store(session).calendar.put(NEW_YEAR, DayKind.HOLIDAY, "元旦")
    assert await exceptions(sessions) == ({NEW_YEAR}, frozenset())
    async with sessions() as session, session.begin():
        await Store(session).calendar.clear(date(2027, 1, 1), date(2028, 1, 1))
    assert await exceptions(sessions) == (frozenset(), frozenset())


async def test_another_process_s_change_is_seen_once_the_kept_answer_is_old(sessions, monkeypatch):
    assert await exceptions(sessions) == (frozenset(), frozenset())
    # Another process adds a holiday: this one's kept answer stands until it is old.
    async with sessions() as session, session.begin():
        await session.execute(
            sa.insert(CalendarDay).values(day=NEW_YEAR, kind=DayKind.HOLIDAY, name="元旦")
        )
    statements: list[str] = []
    async with sessions() as session, session.begin():
        sync = session.sync_session.get_bind()
        sa.event.listen(sync, "before_cursor_execute", lambda *a: statements.append(a[2]))
        calendar = await Service(Store(session)).calendar()
    assert calendar.is_working_day(NEW_YEAR)  # a Friday, as far as it knows yet
    assert not [s for s in statements if "calendar_days" in s]
    monkeypatch.setattr(calendar_kept.KEPT, "seconds", 0.0)
    async with sessions() as session, session.begin():
        calendar = await Service(Store(session)).calendar()
    assert not calendar.is_working_day(NEW_YEAR)
