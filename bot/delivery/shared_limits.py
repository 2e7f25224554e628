"""Telegram's sending limits, shared through Redis by the processes of one bot.

Telegram counts a bot's messages whichever process sends them, so with several worker
processes (``WORKERS``) :class:`SharedLimiter` keeps :mod:`bot.delivery.limits`'s
buckets in Redis: the overall one, each private chat's and each group's minute. It
works as :class:`~bot.delivery.limits.Limiter` does, reserve-then-sleep: one Lua script
takes the turn atomically and answers how long to wait, on Redis's own clock (``TIME``;
Redis 5 and later replicate a script's effects, not the script), so the hosts' clocks
do not matter, and the caller sleeps without asking again. A 429's ``retry_after`` is
written to Redis and pauses its scope for every process.

Redis is not what the bot stands on: when it is unreachable, slow (short socket
timeouts) or fails, each process falls back to an in-process ``Limiter`` whose rates
are the shared ones divided by the number of workers, so that all of them together
still keep within the limits, only more slowly. It says so once, tries Redis again at
most every few seconds, and says when it is back (:class:`Availability`, which the
conversation lock's fallback uses too: bot.dispatcher.conversation_storage). A partial
outage (Redis down for one process only) is the one case where the processes may
together go faster than the limits: the 429s that follow are handled as always.

Nothing of aiogram is imported here, and redis only by a SharedLimiter: a bot without
REDIS_URL loads no Redis client.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.delivery.limits import (
    BURST,
    GROUP_PER_MINUTE,
    PER_SECOND,
    PRIVATE_BURST,
    PRIVATE_PER_SECOND,
    Clock,
    Limiter,
    Pacer,
    Sleep,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

    from bot.settings import Settings

log = logging.getLogger(__name__)

# Known pauses are forgotten once they are over and there are more chats than this.
_PAUSES_KEPT = 10_000
# How long a call to Redis may take before it counts as down.
TIMEOUT = 0.5
# How often a process that fell back asks Redis again.
RETRY_EVERY = 5.0
_MICRO = 1_000_000
# The stages of a reservation, as the script answers them.
_DONE = 3

# Every time is in microseconds of Redis's clock: integers, exact in Lua's doubles and
# written with %.0f (Lua's own tostring keeps only 14 digits). A key lives as long as
# its value still matters, and a second more.
#
# KEYS: the overall turns, the overall pause, and with a chat its turns, its pause.
# ARGV: the operation (take, ready, pause), the count, the stage reached, the overall
# interval and slack, the chat's kind (bucket, window, none) and its figures (interval
# and slack, or limit and window length), the pause's length, the turn waited for.
# Answers: {wait, stage, overall pause left, chat pause left, the turn taken by this
# call (the chat's at stage 1, else the overall one; 0: none)}.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local op, count, stage = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local interval, slack = tonumber(ARGV[4]), tonumber(ARGV[5])
local kind, c1, c2 = ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8])
local waited = tonumber(ARGV[10])

local function get(key)
  return tonumber(redis.call('GET', key)) or 0
end
local function keep(key, value)
  local ms = math.max(0, math.ceil((value - now) / 1000)) + 1000
  redis.call('SET', key, string.format('%.0f', value), 'PX', ms)
end

-- A bucket: GCRA's theoretical arrival time, `slack` ahead of which it may run.
local function bucket_take(key, start, n, iv, sl)
  local tat = math.max(get(key), start)
  local at = math.max(start, tat + (n - 1) * iv - sl)
  keep(key, tat + n * iv)
  return at
end
local function bucket_next(key, sl)
  return get(key) - sl
end

-- A window: the times of the last `limit` turns; a turn waits for the one `limit`
-- turns before it to leave the window.
local function window_next(key, limit, len)
  if redis.call('LLEN', key) >= limit then
    return tonumber(redis.call('LINDEX', key, -limit)) + len
  end
  return 0
end
local function window_take(key, start, n, limit, len)
  local at = start
  for _ = 1, n do
    at = math.max(start, window_next(key, limit, len))
    redis.call('RPUSH', key, string.format('%.0f', at))
  end
  redis.call('LTRIM', key, -limit, -1)
  redis.call('PEXPIRE', key, math.max(0, math.ceil((at + len - now) / 1000)) + 1000)
  return at
end

local function chat_take(start, n)
  if n == 0 then return start end
  if kind == 'bucket' then return bucket_take(KEYS[3], start, n, c1, c2) end
  return window_take(KEYS[3], start, n, c1, c2)
end

local all_paused = get(KEYS[2])
local chat_paused = 0
if kind ~= 'none' then chat_paused = get(KEYS[4]) end

local function answer(wait, reached, turn)
  return {wait, reached, math.max(0, all_paused - now), math.max(0, chat_paused - now), turn}
end

if op == 'pause' then
  local until_ = now + tonumber(ARGV[9])
  if kind == 'none' then
    all_paused = math.max(all_paused, until_)
    keep(KEYS[2], all_paused)
    -- After a 429, start again at the bucket's pace, not with a burst.
    keep(KEYS[1], math.max(get(KEYS[1]), all_paused + slack))
  else
    chat_paused = math.max(chat_paused, until_)
    keep(KEYS[4], chat_paused)
    if kind == 'bucket' then keep(KEYS[3], math.max(get(KEYS[3]), chat_paused + c2)) end
  end
  return answer(0, 0, 0)
end

if op == 'ready' then
  local at = math.max(now, all_paused, bucket_next(KEYS[1], slack))
  if kind == 'bucket' then
    at = math.max(at, chat_paused, bucket_next(KEYS[3], c2))
  elseif kind == 'window' then
    at = math.max(at, chat_paused, window_next(KEYS[3], c1, c2))
  end
  return answer(at - now, 0, 0)
end

-- take: the chat's turn first, the overall one once the chat's has come, so that a
-- chat that must wait keeps no other chat waiting. A pause that came while the caller
-- slept voids its turn: it is taken again. (A pause is compared with the turn waited
-- for, not with now: a caller that woke a little early by Redis's clock takes no
-- second turn for a pause it had already waited out.)
if kind ~= 'none' and (stage == 0 or chat_paused > waited) then
  local at = chat_take(math.max(now, chat_paused), count)
  stage = 1
  if at > now then return answer(at - now, 1, at) end
end
-- A turn the caller wakes up for more than one interval late is not used late either:
-- its process was held up (busy, or paused by the system), and the sends it woke for
-- would go out in a bunch with the turns of those that were on time (bench/processes.py
-- saw seven 429s in a row so). It takes a turn again.
local late = stage == 2 and waited > 0 and now - waited > interval
if stage < 2 or all_paused > waited or late then
  local start = math.max(now, all_paused)
  local at = start
  if count > 0 then at = bucket_take(KEYS[1], start, count, interval, slack) end
  if at > now then return answer(at - now, 2, at) end
  return answer(0, 3, at)
end
return answer(0, 3, 0)
"""


def _micros(seconds: float) -> int:
    # Rounded up, and a hair longer, so that rounding never lets one turn too many
    # into a window of the rate's size.
    return math.ceil(seconds * (1.0 + 1e-6) * _MICRO)


def _scope(chat_id: int | str | None) -> int | str | None:
    """The chat as the limits count it: a string id is its number; "@name" is a group,
    as is a "method:Name" scope."""
    if isinstance(chat_id, str):
        try:
            return int(chat_id)
        except ValueError:
            return chat_id
    return chat_id


class Availability:
    """Whether to ask Redis: after a failure, not again for ``retry_every`` seconds,
    and then by one caller only; logged once when it fails and once when it is back."""

    def __init__(
        self,
        what: str,
        clock: Callable[[], float] = time.monotonic,
        retry_every: float = RETRY_EVERY,
    ) -> None:
        self._what = what
        self._clock = clock
        self._retry_every = retry_every
        self._down_at: float | None = None

    def worth_asking(self) -> bool:
        if self._down_at is None:
            return True
        now = self._clock()
        if now - self._down_at < self._retry_every:
            return False
        # This caller tries; the others go on without Redis until it knows.
        self._down_at = now
        return True

    def failed(self, exc: BaseException) -> bool:
        """Redis failed; True the first time of an outage."""
        first = self._down_at is None
        if first:
            log.warning(
                "Redis is unreachable: %s without it until it is back",
                self._what,
                extra={"error": repr(exc)},
            )
        self._down_at = self._clock()
        return first

    def answered(self) -> None:
        if self._down_at is not None:
            self._down_at = None
            log.info("Redis is back: %s through it again", self._what)


class SharedLimiter:
    """:class:`~bot.delivery.limits.Limiter`'s limits, kept in Redis for every process
    of the bot ``bot_id``; ``share`` is how many processes there are (see the module's
    docstring for what happens without Redis).

    ``penalise`` is synchronous, as the Limiter's: it writes the pause to Redis in the
    background, and this process's next ``acquire`` or ``ready`` waits for that write
    first. ``paused_for`` is synchronous too: it answers from the pauses this process
    knows, its own and those the script told it of (any acquire or ready in the scope
    since another process paused it).
    """

    def __init__(
        self,
        url: str,
        *,
        bot_id: int,
        share: int = 1,
        per_second: float = PER_SECOND,
        burst: int = BURST,
        private_per_second: float = PRIVATE_PER_SECOND,
        private_burst: int = PRIVATE_BURST,
        group_per_minute: int = GROUP_PER_MINUTE,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        timeout: float = TIMEOUT,
        retry_every: float = RETRY_EVERY,
    ) -> None:
        # Imported here: the redis client is only loaded for a bot that uses it.
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        if share < 1:
            raise ValueError("the share must be at least 1")
        self.clock = clock
        self.sleep = sleep
        # Without Redis, each process keeps to its share of every limit.
        self._local = Limiter(
            per_second=per_second / share,
            burst=burst,
            private_per_second=private_per_second / share,
            private_burst=max(1, private_burst // share),
            group_per_minute=max(1, group_per_minute // share),
            clock=lambda: self.clock(),
            sleep=lambda seconds: self.sleep(seconds),
        )
        # The shared figures, checked by a Limiter of their own.
        Limiter(
            per_second=per_second,
            burst=burst,
            private_per_second=private_per_second,
            private_burst=private_burst,
            group_per_minute=group_per_minute,
        )
        interval = _micros(1.0 / per_second)
        self._overall = (interval, (burst - 1) * interval)
        private = _micros(1.0 / private_per_second)
        self._private = (private, (private_burst - 1) * private)
        self._group = (group_per_minute, _micros(60.0))
        # One bot's keys in one hash slot: a Redis Cluster can run the script too.
        self.prefix = f"outpost:limits:{{{bot_id}}}"
        # One quick retry, for a connection that went stale; no backoff, which would
        # keep a sender waiting on a Redis that is down.
        self._redis: Redis = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self._script: AsyncScript = self._redis.register_script(_SCRIPT)
        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError)
        self._redis_state = Availability("pacing sends", lambda: self.clock(), retry_every)
        # Pauses this process knows of, on its own clock; None is the overall one.
        self._pauses: dict[int | str | None, float] = {}
        self._writes: set[asyncio.Task[None]] = set()
        # Told of each turn given through Redis: its scope, and when it came on
        # Redis's clock (seconds); for measuring what the processes together send.
        self.on_turn: Callable[[int | str | None, float], None] | None = None

    async def acquire(self, chat_id: int | str | None = None, count: int = 1) -> None:
        """Wait until ``count`` sends to ``chat_id`` are allowed (``count=0``: only wait
        out a pause that applies to it)."""
        scope = _scope(chat_id)
        await self._settle()
        stage = turn = 0
        while True:
            answer = await self._ask("take", scope, count=count, stage=stage, waited=turn)
            if answer is None:
                await self._local.acquire(chat_id, count)
                return
            wait, stage, taken = answer
            turn = taken or turn
            if stage == _DONE:
                if count > 0 and self.on_turn is not None:
                    self.on_turn(scope, turn / _MICRO)
                return
            await self.sleep(wait / _MICRO)

    async def ready(self, chat_id: int | str | None = None) -> None:
        """Wait until a send to ``chat_id`` would be allowed at once, reserving nothing."""
        scope = _scope(chat_id)
        await self._settle()
        while True:
            answer = await self._ask("ready", scope)
            if answer is None:
                await self._local.ready(chat_id)
                return
            wait, _, _ = answer
            if wait <= 0:
                return
            await self.sleep(wait / _MICRO)

    def penalise(self, chat_id: int | str | None, seconds: float) -> None:
        """Telegram said 429 with ``retry_after``: nothing goes to that chat (to anyone,
        without a chat), from any process, for ``seconds``."""
        scope = _scope(chat_id)
        seconds = max(seconds, 0.0)
        self._know(scope, seconds)
        # The fallback honours it too, should Redis fail meanwhile.
        self._local.penalise(chat_id, seconds)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop to write it with: this process only
        task = loop.create_task(self._share_pause(scope, seconds))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    def paused_for(self, chat_id: int | str | None = None) -> float:
        """Seconds until sends to ``chat_id`` (to anyone, without one) may resume, as
        far as this process knows."""
        scope = _scope(chat_id)
        until = self._pauses.get(None, -math.inf)
        if scope is not None:
            until = max(until, self._pauses.get(scope, -math.inf))
        return max(0.0, until - self.clock())

    async def aclose(self) -> None:
        """Finish writing pauses, and close the connections to Redis."""
        await self._settle()
        await self._redis.aclose()

    async def _share_pause(self, scope: int | str | None, seconds: float) -> None:
        await self._ask("pause", scope, length=seconds)

    async def _settle(self) -> None:
        """Wait until this process's pauses are in Redis, so that no turn it takes
        next slips in ahead of them."""
        if self._writes:
            await asyncio.wait(list(self._writes))

    async def _ask(
        self,
        op: str,
        scope: int | str | None,
        *,
        count: int = 0,
        stage: int = 0,
        length: float = 0.0,
        waited: int = 0,
    ) -> tuple[int, int, int] | None:
        """Run the script; its wait, stage and turn taken, or None when Redis cannot be
        asked."""
        if not self._redis_state.worth_asking():
            return None
        keys = [f"{self.prefix}:all", f"{self.prefix}:all:pause"]
        figures: tuple[int, int] = (0, 0)
        if scope is None:
            kind = "none"
        else:
            keys += [f"{self.prefix}:chat:{scope}", f"{self.prefix}:chat:{scope}:pause"]
            private = isinstance(scope, int) and scope > 0
            kind, figures = ("bucket", self._private) if private else ("window", self._group)
        args: list[str | int] = [op, count, stage, *self._overall, kind, *figures]
        args += [math.ceil(length * _MICRO), waited]
        try:
            answer = await self._script(keys=keys, args=args)
        except self._errors as exc:
            if self._redis_state.failed(exc):
                self._fall_back()
            return None
        self._redis_state.answered()
        wait, reached, overall_left, chat_left, turn = (int(n) for n in answer)
        self._know(None, overall_left / _MICRO)
        if scope is not None:
            self._know(scope, chat_left / _MICRO)
        return wait, reached, turn

    def _know(self, scope: int | str | None, seconds: float) -> None:
        if seconds <= 0:
            return
        now = self.clock()
        if len(self._pauses) >= _PAUSES_KEPT:
            self._pauses = {k: until for k, until in self._pauses.items() if until > now}
        self._pauses[scope] = max(self._pauses.get(scope, -math.inf), now + seconds)

    def _fall_back(self) -> None:
        """Hand the pauses other processes set over to the in-process limiter."""
        now = self.clock()
        for scope, until in self._pauses.items():
            if until > now:
                self._local.penalise(scope, until - now)


def limiter_for(settings: Settings, bot_id: int) -> Limiter | SharedLimiter:
    """The limiter for one process of the bot: in Redis, shared by ``settings.workers``
    processes, when REDIS_URL is set; else this process's own."""
    if settings.redis_url is None:
        return Limiter()
    # A private chat's second is kept a little long: the turn is taken in Redis by one
    # process and the send arrives from another after its own delays, and a chat that
    # has just had a burst of answers has no slack left to absorb that (measured by
    # bench/processes.py: at exactly one a second, a broadcast's first copies to the
    # observers who had just been answered came back 429).
    return SharedLimiter(
        settings.redis_url, bot_id=bot_id, share=settings.workers, private_per_second=0.9
    )


async def close_limiter(limiter: Pacer) -> None:
    """Let go of what ``limiter`` holds (Redis's connections), at shutdown."""
    if isinstance(limiter, SharedLimiter):
        await limiter.aclose()
