"""Items close by themselves after the waiting period, counted in working days."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from bot.domain.errors import InvalidInput, NotPermitted
from bot.domain.statuses import DayKind, RatingValue
from bot.domain.statuses import SuggestionStatus as S
from bot.services.calendar import CalendarService, DayEntry
from bot.services.closing import ClosingService
from bot.services.context import Policy
from bot.services.suggestions import SuggestionService
from storage.models import CalendarDay, Event, OutboxMessage, Suggestion
from storage.store import Store
from tests.world import ADMIN, ALICE, DUE, LIAISON, FixedClock, actor, build_world, draft

POLICY = Policy(jurisdiction="WZ", decision_days=5, close_after_days=3)


async def _implemented_and_declined(sessions, clock):
    world = await build_world(sessions)
    async with sessions() as session, session.begin():
        store = Store(session)
        svc = SuggestionService(store, POLICY, clock)
        alice, admin = await actor(store, ALICE), await actor(store, ADMIN, admin=True)
        li = await actor(store, LIAISON)
        done = await svc.submit(alice, draft("one"))
        await svc.take(admin, done.id)
        await svc.adopt(admin, done.id, department_id=world.department_id, due=DUE)
        li = await actor(store, LIAISON)
        await svc.accept(li, done.id)
        await svc.mark_implemented(li, done.id)
        no = await svc.submit(alice, draft("two"))
        await svc.take(admin, no.id)
        await svc.decline(admin, no.id, "超出职权范围")
    return done, no


async def test_waiting_items_close_after_the_period_and_the_observer_is_told(sessions):
    clock = FixedClock()  # Monday
    done, no = await _implemented_and_declined(sessions, clock)

    async def close_now():
        async with sessions() as session, session.begin():
            return await ClosingService(Store(session), POLICY, clock).close_waiting()

    clock.advance(days=2)  # Wednesday: two working days, not yet
    assert await close_now() == []
    clock.advance(days=1)  # Thursday: three working days
    assert sorted(await close_now()) == sorted([done.reference, no.reference])
    assert await close_now() == []  # closing is done once

    async with sessions() as session:
        statuses = (await session.execute(sa.select(Suggestion.status))).scalars().all()
        assert set(statuses) == {S.CLOSED}
        closes = (
            (await session.execute(sa.select(Event).where(Event.action == "close"))).scalars().all()
        )
        assert {e.actor_role.value for e in closes} == {"system"}
        assert all(e.actor_user_id is None for e in closes)
        told = (
            (
                await session.execute(
                    sa.select(OutboxMessage).where(
                        OutboxMessage.chat_id == ALICE, OutboxMessage.kind == "item.close"
                    )
                )
            )
            .scalars()
            .all()
        )
        assert len(told) == 2


async def test_holidays_stretch_the_waiting_period(sessions):
    clock = FixedClock()  # Monday 2026-03-02
    await _implemented_and_declined(sessions, clock)
    async with sessions() as session, session.begin():
        session.add(CalendarDay(day=date(2026, 3, 4), kind=DayKind.HOLIDAY, name="test"))
    clock.advance(days=3)  # Thursday, but Wednesday was a holiday: two working days
    async with sessions() as session, session.begin():
        assert await ClosingService(Store(session), POLICY, clock).close_waiting() == []


async def test_a_rated_item_is_not_closed_again(sessions):
    clock = FixedClock()
    done, _ = await _implemented_and_declined(sessions, clock)
    async with sessions() as session, session.begin():
        store = Store(session)
        alice = await actor(store, ALICE)
        await SuggestionService(store, POLICY, clock).rate(alice, done.id, RatingValue.SATISFIED)
    clock.advance(days=7)
    async with sessions() as session, session.begin():
        closed = await ClosingService(Store(session), POLICY, clock).close_waiting()
    assert done.reference not in closed


async def test_calendar_entries_are_admin_only_and_validated(sessions):
    await build_world(sessions)
    clock = FixedClock()
    async with sessions() as session, session.begin():
        store = Store(session)
        svc = CalendarService(store, POLICY, clock)
        admin, alice = await actor(store, ADMIN, admin=True), await actor(store, ALICE)
        with pytest.raises(NotPermitted):
            await svc.set_days(alice, [DayEntry(date(2026, 4, 6), DayKind.HOLIDAY)])
        with pytest.raises(InvalidInput):  # a Tuesday is a working day already
            await svc.set_days(admin, [DayEntry(date(2026, 4, 7), DayKind.WORKDAY)])
        count = await svc.set_days(
            admin,
            [
                DayEntry(date(2026, 4, 6), DayKind.HOLIDAY, "清明节"),
                DayEntry(date(2026, 4, 11), DayKind.WORKDAY, "调休"),
            ],
        )
        assert count == 2
        calendar = await svc.working_calendar()
        assert not calendar.is_working_day(date(2026, 4, 6))
        assert calendar.is_working_day(date(2026, 4, 11))
        assert await svc.remove_day(admin, date(2026, 4, 6)) is True
        assert await svc.remove_day(admin, date(2026, 4, 6)) is False
    async with sessions() as session:
        rows = (await session.execute(sa.select(CalendarDay))).scalars().all()
        assert [(r.day, r.kind, r.name) for r in rows] == [
            (date(2026, 4, 11), DayKind.WORKDAY, "调休")
        ]
