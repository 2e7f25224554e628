"""The poller confirms an update to Telegram only once it has been handled."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from aiogram import Bot
from aiogram.types import Update

from bot.runtime.intake import Unreadable, read_all
from bot.runtime.polling import HasUpdateId, Poller


@dataclass(frozen=True)
class U:
    update_id: int


class FakeTelegram:
    """getUpdates as Telegram answers it: everything at or above the offset that is not
    confirmed, at once if there is any, else after waiting for a new update."""

    def __init__(self, *ids: int) -> None:
        self.unconfirmed: list[int] = list(ids)
        self.offsets: list[int | None] = []
        self.arrived = asyncio.Event()
        self.fail_next = 0

    def add(self, update_id: int) -> None:
        self.unconfirmed.append(update_id)
        self.arrived.set()

    async def fetch(self, offset: int | None, wait: int) -> Sequence[HasUpdateId]:
        self.offsets.append(offset)
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("Bot API unreachable")
        if offset is not None:
            self.unconfirmed = [i for i in self.unconfirmed if i >= offset]
        if not self.unconfirmed and wait:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), wait)
            except TimeoutError:
                return []
        return [U(i) for i in self.unconfirmed[:100]]


class Handler:
    def __init__(self, *, hold: set[int] | None = None, fail: set[int] | None = None) -> None:
        self.seen: list[int] = []
        self.done: list[int] = []
        self.hold = hold or set()
        self.fail = fail or set()
        self.release = asyncio.Event()
        self.started: dict[int, asyncio.Event] = {}

    def started_event(self, update_id: int) -> asyncio.Event:
        return self.started.setdefault(update_id, asyncio.Event())

    async def __call__(self, update: HasUpdateId) -> None:
        self.seen.append(update.update_id)
        self.started_event(update.update_id).set()
        if update.update_id in self.hold:
            await self.release.wait()
        if update.update_id in self.fail:
            raise RuntimeError("handler blew up")
        self.done.append(update.update_id)


async def until(condition: object, within: float = 5.0) -> None:
    async def wait() -> None:
        # The conditions are about the poller's insides, which signal nothing.
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.001)

    await asyncio.wait_for(wait(), within)


async def test_an_update_in_hand_is_not_confirmed_and_none_is_handled_twice() -> None:
    telegram = FakeTelegram(1, 2, 3)
    handler = Handler(hold={2})
    poller = Poller(telegram.fetch, handler, timeout=1, idle_wait=0.01)
    stop = asyncio.Event()
    running = asyncio.create_task(poller.run(stop))

    await until(lambda: sorted(handler.done) == [1, 3])
    # Telegram keeps returning 2 and 3 while 2 is in hand: the offset stays at 2 …
    await until(lambda: telegram.offsets.count(2) >= 3)
    assert 2 in telegram.unconfirmed
    # … and neither is handled again.
    assert sorted(handler.seen) == [1, 2, 3]

    handler.release.set()
    await until(lambda: handler.done.count(2) == 1)
    await until(lambda: telegram.offsets[-1] == 4)
    assert telegram.unconfirmed == []

    telegram.add(4)
    await until(lambda: 4 in handler.done)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert sorted(handler.seen) == [1, 2, 3, 4]
    assert poller.handled == 4
    # The last call confirmed everything handled, so a restart fetches nothing old.
    assert telegram.offsets[-1] == 5
    assert telegram.unconfirmed == []


async def test_the_first_call_confirms_nothing() -> None:
    telegram = FakeTelegram(7)
    handler = Handler()
    stop = asyncio.Event()
    running = asyncio.create_task(Poller(telegram.fetch, handler, timeout=1).run(stop))
    await until(lambda: handler.done == [7])
    stop.set()
    await asyncio.wait_for(running, 5)
    # No offset at start: the pending updates of the last run are all fetched.
    assert telegram.offsets[0] is None


async def test_shutdown_lets_the_update_in_hand_finish_then_confirms_it() -> None:
    telegram = FakeTelegram(1)
    handler = Handler(hold={1})
    stop = asyncio.Event()
    running = asyncio.create_task(Poller(telegram.fetch, handler, timeout=1).run(stop))
    await until(lambda: handler.started_event(1).is_set())

    stop.set()
    await asyncio.sleep(0.05)
    assert not running.done()  # waiting for the update in hand
    handler.release.set()
    await asyncio.wait_for(running, 5)
    assert handler.done == [1]
    assert telegram.unconfirmed == []


async def test_an_update_cut_off_at_shutdown_comes_back_at_the_next_start() -> None:
    telegram = FakeTelegram(1, 2)
    handler = Handler(hold={2})
    stop = asyncio.Event()
    poller = Poller(telegram.fetch, handler, timeout=1, grace=0.05, idle_wait=0.01)
    running = asyncio.create_task(poller.run(stop))
    await until(lambda: handler.done == [1] and handler.started_event(2).is_set())
    await until(lambda: 2 in telegram.offsets)  # 1 confirmed
    stop.set()
    await asyncio.wait_for(running, 5)
    assert handler.done == [1]
    # Cancelled, so never confirmed: Telegram still holds it.
    assert 2 in telegram.unconfirmed

    again = Handler()
    stop = asyncio.Event()
    running = asyncio.create_task(Poller(telegram.fetch, again, timeout=1).run(stop))
    await until(lambda: 2 in again.done)
    stop.set()
    await asyncio.wait_for(running, 5)
    assert again.done == [2]


async def test_a_failing_handler_is_logged_and_its_update_confirmed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram = FakeTelegram(1, 2)
    handler = Handler(fail={1})
    stop = asyncio.Event()
    running = asyncio.create_task(Poller(telegram.fetch, handler, timeout=1).run(stop))
    await until(lambda: handler.done == [2])
    stop.set()
    await asyncio.wait_for(running, 5)
    assert handler.seen.count(1) == 1
    assert telegram.unconfirmed == []
    assert any(r.getMessage() == "update failed" and r.update_id == 1 for r in caplog.records)  # type: ignore[attr-defined]


async def test_fetch_errors_back_off_and_recover(caplog: pytest.LogCaptureFixture) -> None:
    telegram = FakeTelegram(1)
    telegram.fail_next = 2
    handler = Handler()
    stop = asyncio.Event()
    poller = Poller(telegram.fetch, handler, timeout=1, backoff_max=0.01)
    running = asyncio.create_task(poller.run(stop))
    await until(lambda: handler.done == [1])
    stop.set()
    await asyncio.wait_for(running, 5)
    failures = [r for r in caplog.records if "fetching updates failed" in r.getMessage()]
    assert len(failures) == 2
    assert "ConnectionError: Bot API unreachable" in failures[0].error  # type: ignore[attr-defined]


async def test_stop_during_a_long_poll_returns_at_once() -> None:
    telegram = FakeTelegram()
    stop = asyncio.Event()
    running = asyncio.create_task(Poller(telegram.fetch, Handler(), timeout=30).run(stop))
    await until(lambda: len(telegram.offsets) == 1)
    stop.set()
    # Far sooner than the 30 s long poll.
    await asyncio.wait_for(running, 2)


class RawTelegram(FakeTelegram):
    """getUpdates answering JSON objects, read one by one as the bot reads them."""

    def __init__(self, raws: dict[int, dict[str, object]]) -> None:
        super().__init__(*raws)
        self.raws = raws
        self.bot = Bot("42:" + "A" * 30)

    async def fetch(self, offset: int | None, wait: int) -> Sequence[HasUpdateId]:
        got = await super().fetch(offset, wait)
        return read_all([self.raws[u.update_id] for u in got], self.bot)


def text_update(update_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_767_225_600,
            "chat": {"id": 5, "type": "private"},
            "text": text,
        },
    }


async def test_an_unreadable_update_is_set_aside_confirmed_and_blocks_nothing() -> None:
    poll = text_update(2, "ignored")
    poll["message"] = {**poll["message"], "poll": {"id": "1", "question": "my words"}}  # type: ignore[dict-item]
    telegram = RawTelegram({1: text_update(1, "one"), 2: poll, 3: text_update(3, "three")})
    handled: list[str] = []
    set_aside: list[Unreadable] = []

    async def handle(update: HasUpdateId) -> None:
        if isinstance(update, Unreadable):
            set_aside.append(update)
        else:
            assert isinstance(update, Update)
            assert update.message is not None
            handled.append(str(update.message.text))

    stop = asyncio.Event()
    poller = Poller(telegram.fetch, handle, timeout=1, idle_wait=0.01)
    running = asyncio.create_task(poller.run(stop))
    await until(lambda: telegram.offsets[-1:] == [4])
    stop.set()
    await asyncio.wait_for(running, 5)
    assert sorted(handled) == ["one", "three"]
    assert [(u.update_id, u.kind) for u in set_aside] == [(2, "message")]
    assert "my words" not in set_aside[0].error
    assert "message.poll.total_voter_count: missing" in set_aside[0].error
    # Confirmed with the others, and read once.
    assert telegram.unconfirmed == []
    assert poller.handled == 3
