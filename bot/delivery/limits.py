"""Telegram's sending limits, kept on our side: about 30 messages a second overall, one
a second into a private chat (short bursts allowed), 20 a minute into a group.

Each scope is a token bucket, kept as GCRA's "theoretical arrival time": a caller
reserves its turn at once and sleeps until it comes, so callers go in the order they
asked, nobody polls, and a burst uses the bucket's slack. A call waits for its chat's
turn first and for the overall one after that, so a chat that must wait keeps no other
chat waiting. When Telegram still answers 429, :meth:`Limiter.penalise` pauses the
scope it names for ``retry_after`` (a 429 that names no chat pauses everything); turns
that were reserved before the pause are taken again after it.

Telegram does not publish its algorithm. The overall bucket allows no burst by default,
which keeps within a sliding second too (as the sandbox counts): a burst would buy no
throughput, only 429s. A group is counted in a sliding minute instead of a bucket: its
twenty messages a minute are mostly an admin's replies, which should go at once while
the minute has room, not three seconds apart.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Idle buckets are forgotten once there are more chats than this.
_CHATS_KEPT = 10_000

# Telegram's limits, as both limiters keep them by default. Overall a little under
# Telegram's 30: its clock counts our sends after the network's jitter, and at exactly 30
# about one send in thirty came back 429 (measured by bench/broadcast.py against the
# sandbox).
PER_SECOND = 29.0
BURST = 1
PRIVATE_PER_SECOND = 1.0
PRIVATE_BURST = 3
GROUP_PER_MINUTE = 20


class _Bucket:
    __slots__ = ("interval", "paused_until", "slack", "tat")

    def __init__(self, per_second: float, burst: int) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate must be positive and a burst at least 1")
        # A hair slower than the rate, so that rounding never lets one turn too many
        # into a window of the rate's size.
        self.interval = (1.0 + 1e-6) / per_second
        # How far ahead of its pace the bucket may run: the burst.
        self.slack = (burst - 1) * self.interval
        self.tat = float("-inf")
        self.paused_until = float("-inf")

    def reserve(self, now: float, count: int) -> float:
        """Take ``count`` turns; returns when the last of them comes."""
        start = max(now, self.paused_until)
        at = start
        for _ in range(count):
            tat = max(self.tat, start)
            at = max(start, tat - self.slack)
            self.tat = tat + self.interval
        return at

    def next_turn(self, now: float) -> float:
        return max(now, self.paused_until, self.tat - self.slack)

    def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)
        # After a 429, start again at the bucket's pace, not with a burst.
        self.tat = max(self.tat, until + self.slack)

    def idle(self, now: float) -> bool:
        return self.tat <= now and self.paused_until <= now


class _Window:
    """At most ``limit`` turns in any ``seconds``: a turn waits for the one ``limit``
    turns before it to leave the window."""

    __slots__ = ("limit", "paused_until", "seconds", "times")

    def __init__(self, limit: int, seconds: float) -> None:
        if limit < 1 or seconds <= 0:
            raise ValueError("a window needs a positive size and length")
        self.limit = limit
        # A hair longer, so that rounding never lets one turn too many in.
        self.seconds = seconds * (1.0 + 1e-6)
        self.times: deque[float] = deque(maxlen=limit)
        self.paused_until = float("-inf")

    def next_turn(self, now: float) -> float:
        at = max(now, self.paused_until)
        if len(self.times) == self.limit:
            at = max(at, self.times[0] + self.seconds)
        return at

    def reserve(self, now: float, count: int) -> float:
        at = now
        for _ in range(count):
            at = self.next_turn(now)
            self.times.append(at)  # the oldest of a full window drops out
        return at

    def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)

    def idle(self, now: float) -> bool:
        last = self.times[-1] if self.times else float("-inf")
        return last + self.seconds <= now and self.paused_until <= now


class Pacer(Protocol):
    """What paces the bot's calls: this module's :class:`Limiter`, or one whose turns
    several processes share (bot.delivery.shared_limits)."""

    clock: Clock
    sleep: Sleep

    async def acquire(self, chat_id: int | str | None = None, count: int = 1) -> None: ...

    async def ready(self, chat_id: int | str | None = None) -> None: ...

    def penalise(self, chat_id: int | str | None, seconds: float) -> None: ...

    def paused_for(self, chat_id: int | str | None = None) -> float: ...


class Limiter:
    def __init__(
        self,
        *,
        per_second: float = PER_SECOND,
        burst: int = BURST,
        private_per_second: float = PRIVATE_PER_SECOND,
        private_burst: int = PRIVATE_BURST,
        group_per_minute: int = GROUP_PER_MINUTE,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._overall = _Bucket(per_second, burst)
        self._private = (private_per_second, private_burst)
        self._group_per_minute = group_per_minute
        # Chats' buckets are made when first needed: refuse bad figures now.
        _Bucket(*self._private)
        _Window(group_per_minute, 60.0)
        self._chats: dict[int | str, _Bucket | _Window] = {}

    async def acquire(self, chat_id: int | str | None = None, count: int = 1) -> None:
        """Wait until ``count`` sends to ``chat_id`` are allowed (``count=0``: only wait
        out a pause that applies to it)."""
        chat = self._bucket(chat_id)
        while True:
            if chat is not None:
                await self._take(chat, count)
            await self._take(self._overall, count)
            # The chat may have been paused while this call waited for the overall turn.
            if chat is None or self.clock() >= chat.paused_until:
                return

    async def ready(self, chat_id: int | str | None = None) -> None:
        """Wait until a send to ``chat_id`` would be allowed at once, reserving nothing
        (for a caller about to hold something others need while it sends)."""
        chat = self._bucket(chat_id)
        while True:
            now = self.clock()
            at = self._overall.next_turn(now)
            if chat is not None:
                at = max(at, chat.next_turn(now))
            if at <= now:
                return
            await self.sleep(at - now)

    def penalise(self, chat_id: int | str | None, seconds: float) -> None:
        """Telegram said 429 with ``retry_after``: nothing goes to that chat (to anyone,
        without a chat) for ``seconds``."""
        bucket = self._bucket(chat_id) or self._overall
        bucket.pause(self.clock() + max(seconds, 0.0))

    def paused_for(self, chat_id: int | str | None = None) -> float:
        """Seconds until sends to ``chat_id`` (to anyone, without one) may resume."""
        now = self.clock()
        until = self._overall.paused_until
        chat = self._bucket(chat_id)
        if chat is not None:
            until = max(until, chat.paused_until)
        return max(0.0, until - now)

    async def _take(self, bucket: _Bucket | _Window, count: int) -> None:
        while True:
            now = self.clock()
            at = bucket.reserve(now, count) if count > 0 else max(now, bucket.paused_until)
            if at > now:
                await self.sleep(at - now)
            if self.clock() >= bucket.paused_until:
                return
            # A 429 paused the scope while we slept: our turn is void, take another.

    def _bucket(self, chat_id: int | str | None) -> _Bucket | _Window | None:
        if chat_id is None:
            return None
        key: int | str = chat_id
        if isinstance(chat_id, str):
            try:
                key = int(chat_id)
            except ValueError:
                key = chat_id  # "@channelusername": a public group or channel
        bucket = self._chats.get(key)
        if bucket is None:
            if len(self._chats) >= _CHATS_KEPT:
                now = self.clock()
                self._chats = {k: b for k, b in self._chats.items() if not b.idle(now)}
            private = isinstance(key, int) and key > 0
            bucket = self._chats[key] = (
                _Bucket(*self._private) if private else _Window(self._group_per_minute, 60.0)
            )
        return bucket
