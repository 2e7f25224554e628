"""The scheduler's reminders: each fires once, at the digest hour on working days, on
SQLite and PostgreSQL, with two schedulers (two engines, as two processes have) and
after a restart; and two real processes at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.domain.notices import Notice
from bot.domain.statuses import DayKind
from bot.domain.statuses import SuggestionStatus as S
from bot.runtime.scheduler import LEASE, Scheduler
from bot.services.reminders import ReminderService
from bot.services.suggestions import SuggestionService
from storage.engine import create_engine, session_factory
from storage.models import CalendarDay, Lease, OutboxMessage, ReminderSent, Suggestion
from storage.store import Store
from tests.world import ADMIN, ALICE, LIAISON, POLICY, FixedClock, actor, build_world, draft

ROOT = Path(__file__).resolve().parents[2]


def shanghai(day: date, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as UTC (UTC+8, no daylight saving)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


async def outbox(sessions, kind: str | None = None) -> list[OutboxMessage]:
    async with sessions() as session:
        stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            stmt = stmt.where(OutboxMessage.kind == kind)
        return list((await session.execute(stmt)).scalars().all())


async def run(sessions, clock) -> list[str]:
    async with sessions() as session, session.begin():
        queued = await ReminderService(Store(session), POLICY, clock).run_due()
    return queued.kinds


async def office(sessions, clock, who, move, *args, **kwargs):
    async with sessions() as session, session.begin():
        store = Store(session)
        person = await actor(store, who, admin=who == ADMIN)
        return await getattr(SuggestionService(store, POLICY, clock), move)(person, *args, **kwargs)


@pytest.fixture
async def world(sessions):
    return await build_world(sessions)


async def test_the_decision_reminder_comes_the_working_day_before_once(sessions, world):
    # Filed on Monday 2 March: the decision is due Monday 9 March (five working days).
    clock = FixedClock(shanghai(date(2026, 3, 2), 9, 30))
    item = await office(sessions, clock, ALICE, "submit", draft("路灯不亮"))
    assert item.decision_due == date(2026, 3, 9)
    before = len(await outbox(sessions))

    clock.now = shanghai(date(2026, 3, 6), 8, 59)  # Friday, before the digest hour
    assert Notice.DECISION_DUE_SOON.value not in await run(sessions, clock)
    clock.now = shanghai(date(2026, 3, 6), 9, 0)
    assert Notice.DECISION_DUE_SOON.value in await run(sessions, clock)
    clock.advance(hours=3)
    assert await run(sessions, clock) == []  # once a day, however often it runs

    [reminder] = await outbox(sessions, Notice.DECISION_DUE_SOON.value)
    assert reminder.audience == "admins"
    assert reminder.chat_id is None
    assert reminder.payload["day"] == "2026-03-09"
    assert reminder.payload["total"] == 1
    assert reminder.payload["items"][0]["reference"] == item.reference
    assert len(await outbox(sessions)) == before + 1


async def test_nothing_on_a_day_off_and_the_overdue_digest_after_the_deadline(sessions, world):
    clock = FixedClock(shanghai(date(2026, 3, 2), 9, 30))
    item = await office(sessions, clock, ALICE, "submit", draft())
    clock.now = shanghai(date(2026, 3, 7), 10)  # Saturday
    assert await run(sessions, clock) == ["close"]
    clock.now = shanghai(date(2026, 3, 10), 9, 5)  # Tuesday: a day past the deadline
    kinds = await run(sessions, clock)
    assert Notice.OVERDUE_DIGEST.value in kinds
    [digest] = await outbox(sessions, Notice.OVERDUE_DIGEST.value)
    assert digest.payload["total"] == 1
    assert digest.payload["decisions"][0]["reference"] == item.reference
    assert digest.payload["decisions"][0]["late"] == 1
    assert digest.payload["implementations"] == []
    assert digest.payload["city"] == []


async def test_a_holiday_moves_the_weekly_summary_to_the_next_working_day(sessions, world):
    async with sessions() as session, session.begin():
        session.add(CalendarDay(day=date(2026, 3, 9), kind=DayKind.HOLIDAY, name="test"))
    clock = FixedClock(shanghai(date(2026, 3, 3), 10))
    await office(sessions, clock, ALICE, "submit", draft())
    clock.now = shanghai(date(2026, 3, 9), 10)  # Monday, a holiday
    assert Notice.WEEKLY_SUMMARY.value not in await run(sessions, clock)
    clock.now = shanghai(date(2026, 3, 10), 10)  # Tuesday: the week's first working day
    assert Notice.WEEKLY_SUMMARY.value in await run(sessions, clock)
    clock.now = shanghai(date(2026, 3, 11), 10)
    assert Notice.WEEKLY_SUMMARY.value not in await run(sessions, clock)
    [summary] = await outbox(sessions, Notice.WEEKLY_SUMMARY.value)
    assert summary.payload["from"] == "2026-03-02"
    assert summary.payload["to"] == "2026-03-08"
    assert summary.payload["received"] == 1
    assert summary.payload["awaiting"] == 1
    assert summary.payload["week"] == 10


async def test_liaisons_are_reminded_before_the_due_date_and_chased_after_it(sessions, world):
    clock = FixedClock(shanghai(date(2026, 3, 2), 9, 30))
    item = await office(sessions, clock, ALICE, "submit", draft())
    await office(sessions, clock, ADMIN, "take", item.id)
    due = date(2026, 3, 13)  # a Friday
    await office(
        sessions, clock, ADMIN, "adopt", item.id, department_id=world.department_id, due=due
    )
    await office(sessions, clock, LIAISON, "accept", item.id)

    def sent(kind: Notice) -> list[str]:
        return [r.payload["day"] for r in rows if r.kind == kind.value]

    days = [date(2026, 3, d) for d in (11, 12, 13, 16, 17, 23, 24)]
    for day in days:
        clock.now = shanghai(day, 9, 1)
        await run(sessions, clock)
        await run(sessions, clock)
    rows = await outbox(sessions)
    # Due Friday: reminded on Thursday (one working day before) and Friday itself.
    assert sent(Notice.DEPARTMENT_DUE_SOON) == ["2026-03-12", "2026-03-13"]
    # Chased the first working day after, then five working days later.
    assert sent(Notice.DEPARTMENT_OVERDUE) == ["2026-03-16", "2026-03-23"]
    chase = next(r for r in rows if r.kind == Notice.DEPARTMENT_OVERDUE.value)
    assert chase.chat_id == LIAISON
    assert chase.audience == "liaison"
    assert chase.payload["department"] == "区市场监管局"
    assert chase.payload["items"][0]["late"] == 3
    # The overdue digest in the group lists the implementation too.
    digest = next(
        r
        for r in rows
        if r.kind == Notice.OVERDUE_DIGEST.value and r.payload["day"] == "2026-03-16"
    )
    assert digest.payload["implementations"][0]["reference"] == item.reference


async def test_the_city_is_chased_after_its_answer_is_due(sessions, world):
    clock = FixedClock(shanghai(date(2026, 3, 2), 9, 30))
    item = await office(sessions, clock, ALICE, "submit", draft())
    await office(sessions, clock, ADMIN, "take", item.id)
    moved = await office(sessions, clock, ADMIN, "escalate", item.id, "涉及市级事权")
    assert moved.city_answer_due == date(2026, 3, 30)
    clock.now = shanghai(date(2026, 3, 31), 9)
    await run(sessions, clock)
    [digest] = await outbox(sessions, Notice.OVERDUE_DIGEST.value)
    assert digest.payload["city"][0]["reference"] == item.reference


async def test_the_scheduler_closes_waiting_items_once_a_day(sessions, world):
    clock = FixedClock(shanghai(date(2026, 3, 2), 9, 30))
    item = await office(sessions, clock, ALICE, "submit", draft())
    await office(sessions, clock, ADMIN, "take", item.id)
    await office(sessions, clock, ADMIN, "decline", item.id, "不属于职责范围")
    clock.now = shanghai(date(2026, 3, 17), 1)  # ten working days later, at night
    assert await run(sessions, clock) == ["close"]
    async with sessions() as session:
        row = await session.get(Suggestion, item.id)
        assert row is not None
        assert row.status is S.CLOSED


# ---- one at a time, whatever the number of processes ---------------------------------------


async def test_two_schedulers_and_a_restart_send_each_reminder_once(db_url, sessions, world):
    clock = FixedClock(shanghai(date(2026, 3, 2), 9, 30))
    await office(sessions, clock, ALICE, "submit", draft())
    clock.now = shanghai(date(2026, 3, 6), 9, 10)  # Friday: the decision reminder is due
    # Two engines, as two processes have: on SQLite they contend for the file's lock.
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        first, second = (
            Scheduler(session_factory(e), POLICY, clock=clock, holder=f"p{i}", interval=0)
            for i, e in enumerate(engines)
        )
        results = await asyncio.gather(*(s.tick() for s in (first, second, first, second)))
        ran = [r for r in results if r is not None]
        assert ran, "one of them holds the lease"
        async with sessions() as session:
            holding = await Store(session).leases.holder(LEASE, clock())
        assert holding in ("p0", "p1")
        # The holder stops; the other takes over at once and finds nothing left to send.
        holder = first if holding == "p0" else second
        other = second if holder is first else first
        await holder.release()
        assert await other.tick() is not None
        # A restart: a new scheduler once the lease has expired.
        clock.advance(minutes=10)
        restarted = Scheduler(sessions, POLICY, clock=clock, holder="p2", interval=0)
        assert await restarted.tick() is not None
    finally:
        for e in engines:
            await e.dispose()
    reminders = await outbox(sessions, Notice.DECISION_DUE_SOON.value)
    assert len(reminders) == 1
    async with sessions() as session:
        keys = (await session.execute(sa.select(ReminderSent.kind))).scalars().all()
        assert sorted(keys) == sorted(
            ["close", Notice.DECISION_DUE_SOON.value, Notice.OVERDUE_DIGEST.value]
        )
        lease = await session.get(Lease, LEASE)
        assert lease is not None
        assert lease.holder == "p2"


async def test_two_runs_at_once_without_the_lease_still_send_once(db_url, sessions, world):
    """Belt and braces: a lease that expired mid-run lets two runs overlap; the keys
    keep them from both sending."""
    clock = FixedClock(shanghai(date(2026, 3, 2), 9, 30))
    await office(sessions, clock, ALICE, "submit", draft())
    clock.now = shanghai(date(2026, 3, 6), 9, 10)
    engines = [create_engine(db_url), create_engine(db_url)]
    try:
        results = await asyncio.gather(
            *(run(session_factory(e), clock) for e in engines), return_exceptions=True
        )
    finally:
        for e in engines:
            await e.dispose()
    assert not [r for r in results if isinstance(r, BaseException)]
    assert len(await outbox(sessions, Notice.DECISION_DUE_SOON.value)) == 1


_PROCESS = """
import asyncio, sys
from datetime import datetime
from bot.runtime.scheduler import Scheduler
from storage.engine import create_engine, session_factory
from tests.world import POLICY

async def main():
    engine = create_engine(sys.argv[1])
    now = datetime.fromisoformat(sys.argv[2])
    scheduler = Scheduler(session_factory(engine), POLICY, clock=lambda: now, holder=sys.argv[3])
    ran = 0
    for _ in range(20):
        ran += (await scheduler.tick()) is not None
    await engine.dispose()
    print(ran)

asyncio.run(main())
"""


async def test_two_real_processes_send_each_reminder_once(db_url, sessions, world):
    clock = FixedClock(shanghai(date(2026, 3, 2), 9, 30))
    await office(sessions, clock, ALICE, "submit", draft())
    moment = shanghai(date(2026, 3, 6), 9, 10).isoformat()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(name: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", _PROCESS, db_url, moment, name],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    procs = [start("a"), start("b")]
    outs = [await asyncio.to_thread(p.communicate, timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    ran = [int(out.strip()) for out, _ in outs]
    # The lease: one process ran every round, the other none.
    assert sorted(ran) == [0, 20]
    assert len(await outbox(sessions, Notice.DECISION_DUE_SOON.value)) == 1
