"""The outbox sender on SQLite and PostgreSQL: order per chat with several chats at
once, retries and backoff, people who block the bot and come back, broadcasts, stopping,
crashes, and two senders sharing one database."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.attempt import LEASE_SECONDS
from bot.delivery.limits import Limiter
from bot.delivery.sender import OutboxSender
from bot.delivery.session import pace
from bot.dispatcher import policy_of
from bot.i18n import build_i18n
from bot.services import notify
from bot.services.broadcasts import BroadcastService
from bot.services.outbox import OutboxItem, OutboxService
from bot.settings import Settings
from storage.engine import create_engine, engine_of, session_factory, writer
from storage.models import OutboxMessage, TelegramUser
from storage.store import Store
from tests.delivery.clocks import InstantTime
from tests.delivery.conftest import GROUP
from tests.telegram import Telegram
from tests.world import ADMIN, ALICE, BOB, FixedClock, World, actor

Sessions = async_sessionmaker[AsyncSession]
I18N = build_i18n("en")
# The labels the tests' notices carry, e.g. "A01": who it is for, and its number.
LABEL = re.compile(r"\b([A-Z]\d\d)\b")


@pytest.fixture(autouse=True)
async def english(sessions: Sessions, world: World) -> None:
    async with sessions() as session, session.begin():
        await session.execute(sa.update(TelegramUser).values(locale="en"))


def new_sender(
    tg: Telegram, sessions: Sessions, settings: Settings, clock: FixedClock, **options: float
) -> OutboxSender:
    return OutboxSender(
        tg.bot,
        sessions,
        settings=settings,
        i18n=I18N,
        policy=policy_of(settings),
        clock=clock,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def sender(tg: Telegram, sessions: Sessions, settings: Settings, clock: FixedClock) -> OutboxSender:
    return new_sender(tg, sessions, settings, clock)


async def queue(sessions: Sessions, clock: FixedClock, *labels: str) -> None:
    """One notice per label: "A.." to Alice, "B.." to Bob, "G.." to the admin group,
    "Cnn" to chat 2000+nn; each names its label as the point someone moved to."""
    async with sessions() as session, session.begin():
        store = Store(session)
        for label in labels:
            if label.startswith("G"):
                moved = {"observer_id": 7, "name": "Zoe", "point": label}
                await notify.to_admins(store, "observer.moved", moved, at=clock.now)
                continue
            chat = {"A": ALICE, "B": BOB}.get(label[0]) or 2000 + int(label[1:])
            await notify.to_user(store, chat, "observer.moved", {"point": label}, at=clock.now)


def received(tg: Telegram, chat: int) -> list[str]:
    return [m for sent in tg.chat(chat) for m in LABEL.findall(sent.plain)]


def unreachable_lines(tg: Telegram) -> list[str]:
    return [s.plain for s in tg.chat(GROUP) if s.plain.startswith("🚫")]


async def rows(sessions: Sessions) -> list[OutboxMessage]:
    async with sessions() as session:
        stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id)
        return list((await session.execute(stmt)).scalars())


async def by_label(sessions: Sessions) -> dict[str, OutboxMessage]:
    """The tests' labelled notices (not the office's news about them), by label."""
    return {str(r.payload["point"]): r for r in await rows(sessions) if r.kind == "observer.moved"}


async def blocked(sessions: Sessions, user_id: int) -> bool:
    async with sessions() as session:
        user = await session.get(TelegramUser, user_id)
        assert user is not None
        return user.blocked


async def pump_all(sender: OutboxSender) -> int:
    settled = 0
    while done := await sender.pump():
        settled += done
    return settled


async def until(condition: Callable[[], bool], what: str) -> None:
    """Let the event loop run until ``condition`` holds (bounded, never timed)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


def sends_to(tg: Telegram, chat: int) -> int:
    return sum(
        1
        for r in tg.session.requests
        if type(r).__name__ == "SendMessage" and getattr(r, "chat_id", None) == chat
    )


# ---- order and concurrency ------------------------------------------------------------


async def test_each_chat_in_order_and_several_chats_at_once(
    tg: Telegram, sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    alice = [f"A{n:02}" for n in range(1, 6)]
    bob = [f"B{n:02}" for n in range(1, 6)]
    office = [f"G{n:02}" for n in range(1, 4)]
    # Interleaved as the moves of a busy office would write them.
    firsts = zip(alice[:3], bob[:3], office, strict=True)
    await queue(sessions, clock, *[label for trio in firsts for label in trio])
    await queue(sessions, clock, *alice[3:], *bob[3:])
    # The first sends are held until all three chats have one in flight.
    tg.session.gate = asyncio.Event()
    tg.session.latency = 0.001
    sender = new_sender(tg, sessions, settings, clock, concurrency=3)
    pumping = asyncio.create_task(pump_all(sender))
    await until(lambda: tg.session.most_in_flight == 3, "three chats in flight")
    tg.session.gate.set()

    assert await pumping == 13

    assert received(tg, ALICE) == alice
    assert received(tg, BOB) == bob
    assert received(tg, GROUP) == office
    assert {r.state for r in await rows(sessions)} == {"sent"}
    assert all(r.attempts == 1 and r.sent_at == clock.now for r in await rows(sessions))
    # Three chats at once, never two sends into one chat.
    assert tg.session.most_in_flight == 3
    assert tg.session.most_in_one_chat == 1


async def test_a_row_in_backoff_keeps_the_later_rows_of_its_chat_waiting(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    tg.session.fail("SendMessage", "server", chat_id=ALICE)
    await queue(sessions, clock, "A01", "A02", "B01")

    assert await sender.pump() == 2  # A01 rescheduled, B01 sent
    assert received(tg, BOB) == ["B01"]
    assert received(tg, ALICE) == []
    queued = await by_label(sessions)
    first = queued["A01"]
    assert (first.state, first.attempts) == ("pending", 1)
    assert first.not_before == clock.now + timedelta(seconds=2)
    assert "TelegramServerError" in (first.last_error or "")
    assert (queued["A02"].state, queued["A02"].attempts) == ("pending", 0)

    # Nothing is due before the backoff has passed.
    assert await sender.pump() == 0
    clock.advance(seconds=2)
    assert await pump_all(sender) == 2
    assert received(tg, ALICE) == ["A01", "A02"]


async def test_the_backoff_doubles_up_to_ten_minutes(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    tg.session.fail("SendMessage", "network", times=12, chat_id=ALICE)
    await queue(sessions, clock, "A01")
    waits = []
    for _ in range(12):
        assert await sender.pump() == 1
        [row] = await rows(sessions)
        waits.append((row.not_before - clock.now).total_seconds())
        clock.now = row.not_before
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600]
    assert await sender.pump() == 1
    assert received(tg, ALICE) == ["A01"]
    [row] = await rows(sessions)
    assert (row.state, row.attempts) == ("sent", 13)


async def test_a_429_is_waited_out_and_sent(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    time = InstantTime()
    pace(tg.bot, Limiter(clock=time.clock, sleep=time.sleep))
    tg.session.fail("SendMessage", "retry_after", retry_after=3, chat_id=ALICE)
    await queue(sessions, clock, "A01")
    assert await pump_all(sender) == 1
    assert received(tg, ALICE) == ["A01"]
    [row] = await rows(sessions)
    assert (row.state, row.attempts) == ("sent", 1)
    assert time.now >= 3.0


async def test_a_429_given_back_to_the_sender_waits_retry_after(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    tg.session.fail("SendMessage", "retry_after", retry_after=30, chat_id=ALICE)
    await queue(sessions, clock, "A01")
    assert await sender.pump() == 1
    [row] = await rows(sessions)
    assert (row.state, row.attempts) == ("pending", 1)
    # Telegram's 30 s, longer than the first backoff's 2 s.
    assert row.not_before == clock.now + timedelta(seconds=30)
    clock.advance(seconds=30)
    assert await pump_all(sender) == 1
    assert received(tg, ALICE) == ["A01"]


async def test_5xx_the_middleware_gave_up_on_stays_pending_and_goes_later(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    time = InstantTime()
    pace(tg.bot, Limiter(clock=time.clock, sleep=time.sleep))
    tg.session.fail("SendMessage", "server", times=3, chat_id=ALICE)
    await queue(sessions, clock, "A01")
    assert await sender.pump() == 1
    [row] = await rows(sessions)
    assert (row.state, row.attempts) == ("pending", 1)
    assert row.not_before > clock.now
    assert sends_to(tg, ALICE) == 3
    clock.advance(seconds=2)
    assert await pump_all(sender) == 1
    assert received(tg, ALICE) == ["A01"]


async def test_a_bad_request_fails_the_row_and_the_chat_goes_on(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    tg.session.fail("SendMessage", "bad_request", chat_id=ALICE)
    await queue(sessions, clock, "A01", "A02")
    assert await pump_all(sender) == 2
    queued = await by_label(sessions)
    assert queued["A01"].state == "failed"
    assert "Bad Request" in (queued["A01"].last_error or "")
    assert received(tg, ALICE) == ["A02"]


# ---- people who block the bot -----------------------------------------------------------


async def test_a_403_holds_the_rows_and_tells_the_office_once(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    sender: OutboxSender,
    world: World,
) -> None:
    tg.session.blocked.add(ALICE)
    await queue(sessions, clock, "A01", "A02", "A03", "B01")
    assert await pump_all(sender) == 5  # four rows and the office's notice

    queued = await by_label(sessions)
    assert [queued[x].state for x in ("A01", "A02", "A03")] == ["held"] * 3
    assert "Forbidden" in (queued["A01"].last_error or "")
    assert queued["A01"].attempts == 1
    # The later rows were held without asking Telegram again.
    assert (queued["A02"].attempts, queued["A03"].attempts) == (0, 0)
    assert sends_to(tg, ALICE) == 1
    assert received(tg, BOB) == ["B01"]
    assert await blocked(sessions, ALICE)
    assert unreachable_lines(tg) == [
        f"🚫 Observer Alice (#{world.alice_observer_id}, 城区便民服务中心) cannot be "
        "reached: they have blocked the bot. Messages to them are held and will be "
        "delivered when they start the bot again."
    ]

    # Telegram says so too, and more is queued for her: the office is not told again.
    await tg.person(ALICE, "Alice", "en").block_bot()
    await queue(sessions, clock, "A04")
    assert await pump_all(sender) == 1
    assert (await by_label(sessions))["A04"].state == "held"
    assert sends_to(tg, ALICE) == 1
    assert len(unreachable_lines(tg)) == 1


async def test_unblocking_sends_the_held_rows_in_order(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    alice = tg.person(ALICE, "Alice", "en")
    await alice.block_bot()
    assert await blocked(sessions, ALICE)
    await queue(sessions, clock, "A01", "A02", "A03")
    await pump_all(sender)
    assert {r.state for r in (await by_label(sessions)).values()} == {"held"}
    assert sends_to(tg, ALICE) == 0
    # The kicked update told the office; the held rows did not tell it again.
    assert len(unreachable_lines(tg)) == 1

    clock.advance(minutes=5)
    await alice.unblock_bot()
    assert not await blocked(sessions, ALICE)
    queued = await by_label(sessions)
    assert [(r.state, r.not_before) for r in queued.values()] == [("pending", clock.now)] * 3
    await queue(sessions, clock, "A04")
    assert await pump_all(sender) == 4
    assert received(tg, ALICE) == ["A01", "A02", "A03", "A04"]


async def test_a_message_from_someone_who_had_blocked_the_bot_requeues_their_rows(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    tg.session.blocked.add(ALICE)
    await queue(sessions, clock, "A01", "A02")
    await pump_all(sender)
    assert await blocked(sessions, ALICE)
    # She unblocked the bot and the update saying so never came; she writes.
    tg.session.blocked.discard(ALICE)
    alice = tg.person(ALICE, "Alice", "en")
    [help_text] = await alice.send("/help")
    assert not await blocked(sessions, ALICE)
    assert await pump_all(sender) == 2
    assert received(tg, ALICE) == ["A01", "A02"]
    assert tg.chat(ALICE)[0] is help_text


async def test_the_office_is_told_again_after_a_return_and_a_new_block(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    tg.session.blocked.add(ALICE)
    await queue(sessions, clock, "A01")
    await pump_all(sender)
    alice = tg.person(ALICE, "Alice", "en")
    await alice.unblock_bot()
    # Blocked again before the held row went out.
    tg.session.blocked.add(ALICE)
    await pump_all(sender)
    assert (await by_label(sessions))["A01"].state == "held"
    assert sends_to(tg, ALICE) == 2
    assert len(unreachable_lines(tg)) == 2


async def test_a_broadcast_report_counts_held_as_not_delivered(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    async with sessions() as session, session.begin():
        store = Store(session)
        admin = await actor(store, ADMIN, admin=True)
        sent = await BroadcastService(store, clock=clock).send(admin, "Meeting at 3 pm")
    tg.session.blocked.add(BOB)
    await pump_all(sender)
    assert tg.chat(ALICE)[-1].plain.endswith("Meeting at 3 pm")
    assert tg.chat(BOB) == []
    states = {r.chat_id: r.state for r in await rows(sessions) if r.broadcast_id == sent.id}
    assert states == {ALICE: "sent", BOB: "held"}
    report = tg.chat(GROUP)[-1].plain
    assert report.startswith(f"📊 Broadcast #{sent.id} delivery report")
    assert "Delivered: 1 of 2" in report
    assert "Failed: 1" in report
    # Bob comes back and gets it late; the report is not sent again.
    await tg.person(BOB, "Bob", "en").unblock_bot()
    await pump_all(sender)
    assert tg.chat(BOB)[-1].plain.endswith("Meeting at 3 pm")
    assert tg.chat(GROUP)[-1].plain == report


# ---- running, stopping, crashing --------------------------------------------------------


async def test_stop_waits_for_the_sends_in_flight_and_starts_none(
    tg: Telegram, sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    gate = tg.session.gate = asyncio.Event()
    await queue(sessions, clock, "A01", "B01", "G01")
    sender = new_sender(tg, sessions, settings, clock, poll_interval=0.01)
    running = asyncio.create_task(sender.run())
    await until(lambda: sender.in_flight == 3, "three sends in flight")

    stopping = asyncio.create_task(sender.stop())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not stopping.done()
    gate.set()
    await stopping
    assert sender.in_flight == 0
    # Each send was recorded before stop() returned.
    assert {r.state for r in await rows(sessions)} == {"sent"}
    assert (received(tg, ALICE), received(tg, BOB), received(tg, GROUP)) == (
        ["A01"],
        ["B01"],
        ["G01"],
    )
    await until(running.done, "the loop ends")

    await queue(sessions, clock, "A02")
    sender.kick()
    assert await sender.pump() == 0
    assert received(tg, ALICE) == ["A01"]


async def test_a_send_cut_off_by_stop_stays_pending_and_goes_once_later(
    tg: Telegram, sessions: Sessions, clock: FixedClock, settings: Settings
) -> None:
    tg.session.gate = asyncio.Event()
    await queue(sessions, clock, "A01")
    sender = new_sender(tg, sessions, settings, clock)
    pumping = asyncio.create_task(sender.pump())
    # Claimed on its lease and at Telegram's door.
    await until(lambda: sum(tg.session.in_flight.values()) == 1, "a send in flight")
    await sender.stop(timeout=0.01)
    assert await pumping == 0
    [row] = await rows(sessions)
    assert (row.state, row.attempts) == ("pending", 0)

    tg.session.gate = None
    # Its lease holds it back: it may still be under way for all another sender knows.
    assert await pump_all(new_sender(tg, sessions, settings, clock)) == 0
    clock.advance(seconds=LEASE_SECONDS + 1)
    assert await pump_all(new_sender(tg, sessions, settings, clock)) == 1
    assert received(tg, ALICE) == ["A01"]


async def test_a_crash_between_send_and_commit_repeats_that_message_once(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    sender: OutboxSender,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    marked = OutboxService.sent_if_ours
    crashes = iter([True])

    async def crash_once(self: OutboxService, item: OutboxItem, by: str) -> bool:
        if next(crashes, False):
            raise ConnectionError("the process died here")
        return await marked(self, item, by)

    monkeypatch.setattr(OutboxService, "sent_if_ours", crash_once)
    await queue(sessions, clock, "A01", "A02")
    with caplog.at_level(logging.ERROR, logger="bot.delivery"):
        await pump_all(sender)
    assert "it stays pending" in caplog.text
    # Its lease holds it, and the rest of its chat behind it, until it runs out.
    assert received(tg, ALICE) == ["A01"]
    clock.advance(seconds=LEASE_SECONDS + 1)
    await pump_all(sender)
    # The first message went out twice (its mark was lost once), the second once, and
    # in order.
    assert received(tg, ALICE) == ["A01", "A01", "A02"]
    assert {r.state for r in await rows(sessions)} == {"sent"}


async def test_the_loop_survives_a_failing_database_and_a_kick_wakes_it(
    tg: Telegram,
    sessions: Sessions,
    clock: FixedClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    take = OutboxService.take
    failures = iter([True, True])

    async def flaky(self: OutboxService, **kwargs: object) -> object:
        if next(failures, False):
            raise ConnectionError("database is away")
        return await take(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(OutboxService, "take", flaky)
    await queue(sessions, clock, "A01")
    sender = new_sender(tg, sessions, settings, clock, poll_interval=0.005)
    with caplog.at_level(logging.ERROR, logger="bot.delivery"):
        running = asyncio.create_task(sender.run())
        await until(lambda: received(tg, ALICE) == ["A01"], "the first row is sent")
    assert "could not read the outbox" in caplog.text
    await sender.stop()
    await until(running.done, "the loop ends")

    # A long poll interval: only a kick makes it look.
    lazy = new_sender(tg, sessions, settings, clock, poll_interval=3600)
    running = asyncio.create_task(lazy.run())
    await until(lambda: lazy.in_flight == 0, "the first look")
    await queue(sessions, clock, "A02")
    lazy.kick()
    await until(lambda: received(tg, ALICE) == ["A01", "A02"], "the kicked row is sent")
    await lazy.stop()
    await until(running.done, "the loop ends")


async def test_a_send_in_flight_does_not_keep_the_database_from_writers(
    tg: Telegram, sessions: Sessions, clock: FixedClock, sender: OutboxSender
) -> None:
    gate = tg.session.gate = asyncio.Event()
    await queue(sessions, clock, "B01")
    pumping = asyncio.create_task(sender.pump())
    await until(lambda: sender.in_flight == 1, "Bob's send in flight")
    # An update's transaction goes ahead while the notice is on its way.
    async with writer(engine_of(sessions)), sessions() as session, session.begin():
        await session.execute(
            sa.update(TelegramUser).where(TelegramUser.id == ALICE).values(first_name="Ally")
        )
    gate.set()
    assert await pumping == 1
    assert received(tg, BOB) == ["B01"]


# ---- two senders on one PostgreSQL database ---------------------------------------------


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_senders_never_send_the_same_row(
    tg: Telegram, sessions: Sessions, clock: FixedClock, settings: Settings, db_url: str
) -> None:
    # Fifty rows to ten chats, numbered N00-N49 in the order they were written.
    async with sessions() as session, session.begin():
        for n in range(50):
            chat = 2001 + n % 10
            await notify.to_user(
                Store(session), chat, "observer.moved", {"point": f"N{n:02}"}, at=clock.now
            )
    other_engine = create_engine(db_url)
    try:
        first = new_sender(tg, sessions, settings, clock, concurrency=4)
        second = new_sender(tg, session_factory(other_engine), settings, clock, concurrency=4)
        tg.session.latency = 0.002
        settled = await asyncio.gather(pump_all(first), pump_all(second))
    finally:
        await other_engine.dispose()
    assert sum(settled) == 50
    for chat in range(10):
        # Each message arrived once, and each chat's in the order written.
        assert received(tg, 2001 + chat) == [f"N{n:02}" for n in range(chat, 50, 10)]
    assert {r.state for r in await rows(sessions)} == {"sent"}
    assert all(r.attempts == 1 for r in await rows(sessions))
    assert tg.session.most_in_one_chat == 1


# ---- a filed item with its files --------------------------------------------------------


async def test_an_item_reaches_the_office_with_its_files_by_file_id(
    tg: Telegram, sessions: Sessions, sender: OutboxSender
) -> None:
    from tests.handlers.test_filing import cb, confirm_data

    time = InstantTime()
    limits = Limiter(clock=time.clock, sleep=time.sleep)
    pace(tg.bot, limits)
    alice = tg.person(ALICE, "Alice", "en")
    await alice.send("/new")
    await alice.press(cb("domain", "governance"))
    await alice.press(cb("kind", "problem"))
    await alice.send("Street lights out")
    for photo in ("photo-1", "photo-2", "photo-3"):
        await alice.photo(photo)
    await alice.document("doc-1", "plan.pdf")
    await alice.send("Three lamps dark for weeks.")
    await alice.press("f:done:")
    await alice.press(cb("behalf", "residents"))
    await alice.send("Skip")
    await alice.press(confirm_data(alice.last))

    started = time.now
    assert await pump_all(sender) == 1
    card, *files = tg.chat(GROUP)
    assert card.plain.startswith("🟡 WZ-2026-0001")
    assert [(f.kind, f.file_id) for f in files] == [
        ("photo", "photo-1"),
        ("photo", "photo-2"),
        ("photo", "photo-3"),
        ("document", "doc-1"),
    ]
    # The card, an album of three and a document: five sends, which a group's minute
    # has room for at once; the overall pace (30 a second) spaces them.
    assert time.now - started == pytest.approx(4 / 29, abs=0.05)


async def test_a_burst_of_kicks_makes_few_looks_and_what_they_queued_is_sent(
    tg: Telegram, sessions: Sessions, sender: OutboxSender, clock: FixedClock
) -> None:
    """Every commit that queues a row kicks the sender; looks closer together than
    the gap would find the same rows in flight, so a burst of notices to 40 people
    takes a few looks, not one per kick, and all of them are sent."""
    from bot.delivery import sender as sending

    looks = 0
    due = sender._due

    async def counted(limit: int, busy: set[int | None]) -> Any:
        nonlocal looks
        looks += 1
        return await due(limit, busy)

    sender._due = counted  # type: ignore[method-assign]
    running = asyncio.create_task(sender.run())
    await asyncio.sleep(0.05)
    first = looks
    loop = asyncio.get_running_loop()
    started = loop.time()
    for n in range(40):
        await queue(sessions, clock, f"C{n:02d}")
        sender.kick()
    for _ in range(500):
        if all(received(tg, 2000 + n) for n in range(40)):
            break
        await asyncio.sleep(0.01)
    spent = loop.time() - started
    await sender.stop()
    await running
    assert [received(tg, 2000 + n) for n in range(40)] == [[f"C{n:02d}"] for n in range(40)]
    # At most one look a gap (and one more at each end), however many kicks.
    assert looks - first <= spent / sending._LOOK_GAP + 2, (looks - first, spent)
    assert looks - first < 40, (looks - first, spent)
