"""The outbox sender's leases (docs/design.md §3): a due row is claimed on a lease in a
short transaction, sent with no transaction open, and its outcome recorded in another;
other senders leave a live lease, and the rest of its chat, alone; a lease that ran out
lets the row go again; a database locked while the outcome is recorded repeats no send.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.exc
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery.attempt import LEASE_SECONDS
from bot.delivery.sender import OutboxSender
from bot.dispatcher import policy_of
from bot.i18n import build_i18n
from bot.services.outbox import OutboxItem, OutboxService
from bot.settings import Settings
from storage.engine import create_engine, read_sessions, session_factory, writer
from storage.models import OutboxMessage
from storage.store import Store
from tests.delivery.test_sender import english, pump_all, queue  # noqa: F401 (autouse)
from tests.handlers.test_effects import until
from tests.telegram import TOKEN, RecordingSession, Telegram
from tests.world import ALICE, BOB, POLICY, FixedClock

Sessions = async_sessionmaker[AsyncSession]
I18N = build_i18n("en")


def new_sender(
    bot: Bot, sessions: Sessions, settings: Settings, clock: FixedClock, **options: Any
) -> OutboxSender:
    return OutboxSender(
        bot,
        sessions,
        settings=settings,
        i18n=I18N,
        policy=policy_of(settings),
        clock=clock,
        **options,
    )


@pytest.fixture
async def elsewhere(db_url: str) -> AsyncIterator[tuple[Bot, RecordingSession, Sessions]]:
    """Another sender's world: its own connection pool to the same database, and its
    own line to Telegram (so that its sends can be told apart)."""
    engine = create_engine(db_url)
    session = RecordingSession()
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    yield bot, session, session_factory(engine)
    await engine.dispose()
    assert session.problems == []


def received(session: RecordingSession, chat: int) -> list[str]:
    return [
        label
        for sent in session.chats.get(chat, [])
        for label in ("A01", "A02", "A03", "B01", "B02")
        if label in sent.plain
    ]


async def rows(sessions: Sessions) -> dict[str, OutboxMessage]:
    async with read_sessions(sessions)() as session:
        found = await session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        return {str(r.payload["point"]): r for r in found if r.kind == "observer.moved"}


def sends(session: RecordingSession) -> int:
    return sum(1 for r in session.requests if type(r).__name__ == "SendMessage")


class Transactions:
    """Counts the engine's open transactions, and what was open at each call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.open = 0
        self.log: list[str] = []
        self._engine = engine.sync_engine
        event.listen(self._engine, "begin", self._begin)
        event.listen(self._engine, "commit", self._end)
        event.listen(self._engine, "rollback", self._end)

    def _begin(self, _conn: Any) -> None:
        self.open += 1
        self.log.append("begin")

    def _end(self, _conn: Any) -> None:
        self.open = max(0, self.open - 1)
        self.log.append("end")

    def close(self) -> None:
        event.remove(self._engine, "begin", self._begin)
        event.remove(self._engine, "commit", self._end)
        event.remove(self._engine, "rollback", self._end)


def locked() -> sqlalchemy.exc.OperationalError:
    class DriverError(Exception):
        pass

    return sqlalchemy.exc.OperationalError("UPDATE outbox", {}, DriverError("database is locked"))


# ---- claim, send, record ------------------------------------------------------------------


async def test_a_row_is_leased_then_sent_with_no_transaction_open_then_recorded(
    tg: Telegram,
    sessions: Sessions,
    engine: AsyncEngine,
    clock: FixedClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await queue(sessions, clock, "A01")
    transactions = Transactions(engine)
    at_send: list[tuple[int, list[str]]] = []
    make_request = tg.session.make_request

    async def noting(bot: Bot, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
        at_send.append((transactions.open, list(transactions.log)))
        return await make_request(bot, method, timeout)

    monkeypatch.setattr(tg.session, "make_request", noting)
    gate = tg.session.gate = asyncio.Event()
    sender = new_sender(tg.bot, sessions, settings, clock)
    try:
        pumping = asyncio.create_task(sender.pump())
        await until(lambda: bool(at_send), "the send under way")

        # Held at the gate: the lease is committed (another connection reads it), no
        # transaction is open anywhere, and on SQLite nobody holds the writer.
        [(open_then, before)] = at_send
        assert open_then == 0
        assert transactions.open == 0
        assert before.count("begin") == before.count("end") >= 2  # picked, claimed (, read)
        [row] = (await rows(sessions)).values()
        assert (row.state, row.attempts) == ("pending", 0)
        assert row.claimed_by is not None
        assert row.claimed_until == clock.now + timedelta(seconds=LEASE_SECONDS)
        async with asyncio.timeout(1):
            async with writer(engine):
                pass
        done_before = len(transactions.log)

        gate.set()
        assert await pumping == 1
        # Recorded afterwards, in a transaction of its own: sent, lease dropped.
        assert transactions.log[done_before:].count("begin") >= 1
        [row] = (await rows(sessions)).values()
        assert (row.state, row.attempts, row.sent_at) == ("sent", 1, clock.now)
        assert (row.claimed_by, row.claimed_until) == (None, None)
        assert received(tg.session, ALICE) == ["A01"]
    finally:
        transactions.close()


async def test_another_sender_skips_a_live_lease_and_the_rest_of_its_chat(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    settings: Settings,
    elsewhere: tuple[Bot, RecordingSession, Sessions],
) -> None:
    other_bot, other_line, other_sessions = elsewhere
    await queue(sessions, clock, "A01", "A02", "B01", "B02")
    gate = tg.session.gate = asyncio.Event()
    first = new_sender(tg.bot, sessions, settings, clock, concurrency=1)
    pumping = asyncio.create_task(pump_all(first))
    await until(lambda: first.in_flight == 1 and bool(tg.session.requests), "A01 under way")

    # The second sender, in another process for all it knows, sends Bob's rows only:
    # A01 is on a live lease, and A02 waits behind it.
    second = new_sender(other_bot, other_sessions, settings, clock)
    assert await pump_all(second) == 2
    assert received(other_line, BOB) == ["B01", "B02"]
    assert received(other_line, ALICE) == []
    queued = await rows(sessions)
    assert (queued["A01"].state, queued["A01"].claimed_by is not None) == ("pending", True)
    assert (queued["A02"].state, queued["A02"].attempts) == ("pending", 0)

    gate.set()
    assert await pumping == 2
    assert received(tg.session, ALICE) == ["A01", "A02"]
    assert received(tg.session, BOB) == []
    assert {(r.state, r.attempts) for r in (await rows(sessions)).values()} == {("sent", 1)}


async def test_a_lease_that_ran_out_lets_the_row_go_again(
    tg: Telegram, sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    await queue(sessions, clock, "A01", "A02")
    policy = policy_of(settings)
    async with sessions() as session, session.begin():  # a sender that then died
        outbox = OutboxService(Store(session), policy, clock)
        [first] = await outbox.due(limit=1)
        assert await outbox.claim(first.id, by="gone:1", lease=LEASE_SECONDS) is not None
    sender = new_sender(tg.bot, sessions, settings, clock)
    assert await pump_all(sender) == 0
    clock.advance(seconds=LEASE_SECONDS - 1)
    assert await pump_all(sender) == 0
    assert sends(tg.session) == 0

    clock.advance(seconds=2)
    assert await pump_all(sender) == 2
    assert received(tg.session, ALICE) == ["A01", "A02"]
    queued = await rows(sessions)
    assert (queued["A01"].state, queued["A01"].attempts) == ("sent", 1)
    assert queued["A01"].claimed_by is None


async def test_a_sender_back_after_its_lease_ran_out_records_nothing_over_the_next(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    settings: Settings,
    elsewhere: tuple[Bot, RecordingSession, Sessions],
    caplog: pytest.LogCaptureFixture,
) -> None:
    other_bot, other_line, other_sessions = elsewhere
    await queue(sessions, clock, "A01")
    gate = tg.session.gate = asyncio.Event()
    slow = new_sender(tg.bot, sessions, settings, clock)
    pumping = asyncio.create_task(slow.pump())
    await until(lambda: bool(tg.session.requests), "A01 under way")
    clock.advance(seconds=LEASE_SECONDS + 1)  # the send hangs past its lease

    second = new_sender(other_bot, other_sessions, settings, clock)
    assert await pump_all(second) == 1
    assert received(other_line, ALICE) == ["A01"]

    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        gate.set()
        assert await pumping == 0
    assert "changed hands" in caplog.text
    [row] = (await rows(sessions)).values()
    # Recorded once, by the sender that held the lease when it recorded.
    assert (row.state, row.attempts) == ("sent", 1)


# ---- a database locked while the outcome is recorded ------------------------------------


async def test_a_database_locked_while_recording_repeats_no_send(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mark_sent = OutboxService.sent_if_ours
    refusals = iter([locked(), locked()])

    async def locked_twice(self: OutboxService, item: OutboxItem, by: str) -> bool:
        if (refusal := next(refusals, None)) is not None:
            raise refusal
        return await mark_sent(self, item, by)

    monkeypatch.setattr(OutboxService, "sent_if_ours", locked_twice)
    await queue(sessions, clock, "A01", "A02")
    sender = new_sender(tg.bot, sessions, settings, clock)
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        assert await pump_all(sender) == 2
    assert caplog.text.count("recording its delivery waits for the database") == 2
    # Each message once, in order, each recorded once.
    assert received(tg.session, ALICE) == ["A01", "A02"]
    assert sends(tg.session) == 2
    queued = await rows(sessions)
    assert [(r.state, r.attempts) for r in queued.values()] == [("sent", 1), ("sent", 1)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_sender_waits_for_the_writer_to_record_and_nobody_sends_again(
    tg: Telegram,
    sessions: Sessions,
    engine: AsyncEngine,
    clock: FixedClock,
    settings: Settings,
    elsewhere: tuple[Bot, RecordingSession, Sessions],
) -> None:
    other_bot, other_line, _ = elsewhere
    await queue(sessions, clock, "A01")
    gate = tg.session.gate = asyncio.Event()
    sender = new_sender(tg.bot, sessions, settings, clock)
    pumping = asyncio.create_task(sender.pump())
    await until(lambda: bool(tg.session.requests), "A01 under way")
    async with writer(engine):  # an update's long write: the record must wait
        gate.set()
        await asyncio.sleep(0.3)
        assert not pumping.done()
        [row] = (await rows(sessions)).values()
        assert (row.state, row.attempts) == ("pending", 0)
        # Another sender would find the row on its live lease: nothing due.
        async with read_sessions(sessions)() as session, session.begin():
            assert await OutboxService(Store(session), POLICY, clock).due() == []
    assert await pumping == 1
    # Nor does it send it once the writer is free and the row recorded.
    assert await pump_all(new_sender(other_bot, sessions, settings, clock)) == 0
    assert sends(other_line) == 0
    [row] = (await rows(sessions)).values()
    assert (row.state, row.attempts) == ("sent", 1)
    assert received(tg.session, ALICE) == ["A01"]
