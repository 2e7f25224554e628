"""The limits shared in Redis by the processes of one bot, and what each does while
Redis is down.

What is shared is measured on Redis's clock: the turns the script gives (``on_turn``),
or the waits it asks for, recorded by a sleep that does not wait. The fallback is logic
on this process's clock alone, so it runs on virtual time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.delivery.limits import Limiter
from bot.delivery.shared_limits import SharedLimiter, close_limiter, limiter_for
from bot.settings import load_settings
from tests.delivery.clocks import InstantTime, VirtualTime

ALICE, BOB, GROUP = 1001, 1002, -100500
UNBOUNDED = {"per_second": 1000.0, "burst": 1000}
ROOT = Path(__file__).resolve().parents[2]
LOGGER = "bot.delivery.shared_limits"


class Sleeps:
    """A sleep that records how long it was asked to wait, and does not wait (unless
    ``real``): Redis's clock does not move on, so the waits are what the script said."""

    def __init__(self, *, real: bool = False) -> None:
        self.asked: list[float] = []
        self.during: Callable[[], object] | None = None
        self._real = real

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        if self._real:
            await asyncio.sleep(seconds)
        if self.during is not None:
            during, self.during = self.during, None
            result = during()
            if asyncio.iscoroutine(result):
                await result


@pytest.fixture
def bot_id() -> int:
    return random.randint(10**9, 2 * 10**9)  # keys of this test only


@pytest.fixture
async def limiters(redis_url: str, bot_id: int) -> AsyncIterator[Callable[..., SharedLimiter]]:
    """Limiters of one bot, as many processes would have; their keys go afterwards."""
    made: list[SharedLimiter] = []

    def make(**kwargs: object) -> SharedLimiter:
        limiter = SharedLimiter(redis_url, bot_id=bot_id, **kwargs)  # type: ignore[arg-type]
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()  # its pauses written, then gone with the rest
    await _forget(redis_url, bot_id)


async def _forget(redis_url: str, bot_id: int) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        keys = [k async for k in client.scan_iter(match=f"outpost:limits:{{{bot_id}}}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def most_in_a_second(turns: list[float]) -> int:
    """The most turns in any sliding second (a half-open window, as Telegram's)."""
    turns = sorted(turns)
    # Rounded to Redis's microseconds, which the turns are counted in.
    return max(sum(1 for t in turns if round(end - t, 6) < 1.0 and t <= end) for end in turns)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_limiters_of_one_bot_share_the_overall_rate(
    limiters: Callable[..., SharedLimiter],
) -> None:
    turns: list[float] = []
    rate = 40

    async def sender(number: int) -> None:
        limiter = limiters(per_second=float(rate))
        limiter.on_turn = lambda _, at: turns.append(at)
        for n in range(15):
            await limiter.acquire(number * 100 + n + 1)

    await asyncio.gather(*(sender(n) for n in range(4)))
    assert len(turns) == 60
    assert most_in_a_second(turns) == rate


SENDER = """
import asyncio, json, sys
from redis.asyncio import Redis
from bot.delivery.shared_limits import SharedLimiter

url, bot_id, rate, count, processes = sys.argv[1:6]

async def main():
    limiter = SharedLimiter(url, bot_id=int(bot_id), per_second=float(rate))
    turns = []
    limiter.on_turn = lambda _, at: turns.append(at)
    # All start together, once every one has started, to compete for the same seconds.
    redis = Redis.from_url(url)
    here, go = limiter.prefix + ":test:here", limiter.prefix + ":test:go"
    if await redis.incr(here) == int(processes):
        await redis.rpush(go, *range(int(processes)))
    await redis.blpop([go], timeout=60)
    await redis.aclose()
    for _ in range(int(count)):
        await limiter.acquire()
    await limiter.aclose()
    print(json.dumps(turns))

asyncio.run(main())
"""


async def test_processes_together_keep_to_the_overall_rate(redis_url: str, bot_id: int) -> None:
    rate, each, processes = 30, 20, 3
    args = [redis_url, str(bot_id), str(rate), str(each), str(processes)]
    try:
        running = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                SENDER,
                *args,
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(processes)
        ]
        outputs = [await p.communicate() for p in running]
    finally:
        await _forget(redis_url, bot_id)
    turns: list[float] = []
    for process, (out, err) in zip(running, outputs, strict=True):
        assert process.returncode == 0, err.decode()
        turns += json.loads(out)
    assert len(turns) == processes * each
    assert most_in_a_second(turns) <= rate


async def test_a_turn_woken_up_for_late_is_not_used_late(
    limiters: Callable[..., SharedLimiter],
) -> None:
    """A process held up while it slept for its turn takes a turn again, rather than
    send in a bunch with those that were on time."""
    turns: list[float] = []

    async def held_up(seconds: float) -> None:
        await asyncio.sleep(seconds + 0.3)

    limiter = limiters(per_second=10.0, sleep=held_up)  # a turn every 100 ms
    limiter.on_turn = lambda scope, at: turns.append(at)
    await limiter.acquire()
    await limiter.acquire()  # its turn 100 ms on; woken 300 ms after that
    # Its turn is the one it took on waking, not the one it slept for.
    assert turns[1] - turns[0] >= 0.35


async def test_a_private_chat_is_one_bucket_for_every_process(
    limiters: Callable[..., SharedLimiter],
) -> None:
    first, second = Sleeps(), Sleeps()
    one, other = limiters(sleep=first, **UNBOUNDED), limiters(sleep=second, **UNBOUNDED)
    # The burst of three, between them.
    await one.acquire(ALICE)
    await other.acquire(ALICE)
    await one.acquire(str(ALICE))
    assert first.asked == second.asked == []
    await other.acquire(ALICE)
    await one.acquire(ALICE)
    assert second.asked == [pytest.approx(1.0, abs=0.1)]
    assert first.asked == [pytest.approx(2.0, abs=0.1)]
    # Another chat has its own.
    await other.acquire(BOB)
    assert len(second.asked) == 1


async def test_a_group_is_one_minute_for_every_process(
    limiters: Callable[..., SharedLimiter],
) -> None:
    first, second = Sleeps(), Sleeps()
    one, other = limiters(sleep=first, **UNBOUNDED), limiters(sleep=second, **UNBOUNDED)
    for _ in range(12):
        await one.acquire(GROUP)
    await other.acquire(GROUP, count=8)  # an album counts as its items
    assert first.asked == second.asked == []
    await other.acquire(GROUP, count=0)  # waiting for pauses takes no turn
    assert second.asked == []
    await other.acquire(GROUP)
    assert second.asked == [pytest.approx(60.0, abs=0.5)]
    assert first.asked == []


async def test_ready_waits_for_another_process_s_turn_and_takes_none(
    limiters: Callable[..., SharedLimiter],
) -> None:
    sleeps = Sleeps(real=True)
    chats = {"private_per_second": 10.0, "private_burst": 1}
    one, other = limiters(**chats, **UNBOUNDED), limiters(sleep=sleeps, **chats, **UNBOUNDED)
    await one.acquire(ALICE)
    await other.ready(ALICE)
    assert sleeps.asked == [pytest.approx(0.1, abs=0.02)]
    await other.acquire(ALICE)
    assert len(sleeps.asked) == 1


async def test_a_429_in_one_process_pauses_the_scope_in_every_process(
    limiters: Callable[..., SharedLimiter],
) -> None:
    first, second = Sleeps(), Sleeps()
    one, other = limiters(sleep=first, **UNBOUNDED), limiters(sleep=second, **UNBOUNDED)
    one.penalise(ALICE, 5)
    assert one.paused_for(ALICE) == pytest.approx(5.0, abs=0.1)
    await one.ready(BOB)  # its write is done before it takes anything
    await other.acquire(BOB)
    assert second.asked == []
    await other.acquire(ALICE)
    assert second.asked == [pytest.approx(5.0, abs=0.1)]
    # The other process learnt of the pause from Redis's answer.
    assert other.paused_for(ALICE) == pytest.approx(5.0, abs=0.1)
    assert other.paused_for(BOB) == 0.0
    # A 429 without a chat pauses everyone (written before the process stops).
    one.penalise(None, 3)
    await one.aclose()
    await other.acquire(BOB)
    assert second.asked[1:] == [pytest.approx(3.0, abs=0.1)]


async def test_a_pause_from_another_process_voids_a_turn_being_waited_for(
    limiters: Callable[..., SharedLimiter],
) -> None:
    sleeps = Sleeps()
    one, other = limiters(**UNBOUNDED), limiters(sleep=sleeps, **UNBOUNDED)
    for _ in range(3):
        await other.acquire(ALICE)

    async def flood() -> None:
        one.penalise(ALICE, 10)
        await one.ready(BOB)

    # While the fourth waits its second, Telegram answers the other process 429.
    sleeps.during = flood
    await other.acquire(ALICE)
    assert sleeps.asked == [pytest.approx(1.0, abs=0.1), pytest.approx(10.0, abs=0.1)]


async def test_without_redis_each_process_keeps_to_its_share(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = VirtualTime()
    limiter = SharedLimiter(
        f"redis://127.0.0.1:{unused_port()}/0",
        bot_id=1,
        share=2,
        per_second=10.0,
        clock=time.clock,
        sleep=time.sleep,
    )
    got: list[float] = []

    async def send(chat: int) -> None:
        await limiter.acquire(chat)
        got.append(round(time.now, 3))

    try:
        with caplog.at_level(logging.INFO, logger=LOGGER):
            # The first asks Redis (a refused connection, in real time); the others
            # do not ask again for a while.
            await send(1)
            await time.run(*(send(chat) for chat in range(2, 11)))
            limiter.penalise(ALICE, 2.0)
            assert limiter.paused_for(ALICE) == 2.0
    finally:
        await limiter.aclose()
    # Ten a second between two processes: five each.
    assert got == [round(n * 0.2, 3) for n in range(10)]
    assert [r.levelname for r in caplog.records if r.name == LOGGER] == ["WARNING"]


class Cuttable:
    """A TCP proxy in front of Redis, to cut and restore like a network."""

    def __init__(self, redis_url: str) -> None:
        from redis.asyncio.connection import parse_url

        target = parse_url(redis_url)
        self._to = (str(target.get("host", "127.0.0.1")), int(target.get("port", 6379)))
        self.port = unused_port()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            writer.close()
        self._open.clear()
        self._server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._to)
        self._open |= {writer, up_writer}

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


async def test_back_on_redis_once_it_answers_again(
    redis_url: str, bot_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    from redis.asyncio import Redis

    proxy = Cuttable(redis_url)
    await proxy.restore()
    time = InstantTime()
    limiter = SharedLimiter(
        proxy.url, bot_id=bot_id, clock=time.clock, sleep=time.sleep, **UNBOUNDED
    )
    shared = f"{limiter.prefix}:all"
    redis = Redis.from_url(redis_url)
    try:
        with caplog.at_level(logging.INFO, logger=LOGGER):
            await limiter.acquire()
            assert await redis.exists(shared)
            await proxy.cut()
            for _ in range(5):
                await limiter.acquire(ALICE)  # nothing raises; the process goes on alone
            await proxy.restore()
            await redis.delete(shared)
            await limiter.acquire()
            assert not await redis.exists(shared), "asked again before its time"
            time.now += 5.0
            await limiter.acquire()
            assert await redis.exists(shared)
        assert [r.levelname for r in caplog.records if r.name == LOGGER] == ["WARNING", "INFO"]
    finally:
        await proxy.cut()
        await limiter.aclose()
        await redis.aclose()
        await _forget(redis_url, bot_id)


async def test_the_limiter_for_the_settings(redis_url: str) -> None:
    assert type(limiter_for(load_settings(redis_url=None), 42)) is Limiter
    shared = limiter_for(load_settings(redis_url=redis_url, workers=3), 42)
    assert isinstance(shared, SharedLimiter)
    assert shared.prefix == "outpost:limits:{42}"
    await close_limiter(shared)
