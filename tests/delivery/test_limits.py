"""The limiter's buckets, on virtual time: what waits, how long, and in what order."""

from __future__ import annotations

import pytest

from bot.delivery.limits import Limiter
from tests.delivery.clocks import InstantTime, VirtualTime

ALICE, BOB, GROUP = 1001, 1002, -100500
# An overall pace with room enough that only the scope under test is seen.
UNBOUNDED = {"per_second": 1000.0, "burst": 1000}


def limiter(time: VirtualTime | InstantTime, **kwargs: float) -> Limiter:
    """A limiter on ``time``."""
    return Limiter(clock=time.clock, sleep=time.sleep, **kwargs)  # type: ignore[arg-type]


async def turns(
    time: VirtualTime,
    limits: Limiter,
    chats: list[int | str | None],
    count: int = 1,
    *,
    exact: bool = False,
) -> list[tuple[int, float]]:
    """When each call (numbered in the order it asked) got its turn, in the order they
    got it; to the millisecond (the buckets run a hair slow on purpose), or ``exact``."""
    got: list[tuple[int, float]] = []

    async def one(number: int, chat: int | str | None) -> None:
        await limits.acquire(chat, count)
        got.append((number, time.now if exact else round(time.now, 3)))

    await time.run(*(one(n, chat) for n, chat in enumerate(chats)))
    return got


async def test_a_private_chat_allows_a_burst_of_three_then_one_a_second() -> None:
    time = VirtualTime()
    limits = limiter(time, **UNBOUNDED)
    got = await turns(time, limits, [ALICE] * 6)
    assert got == [(0, 0.0), (1, 0.0), (2, 0.0), (3, 1.0), (4, 2.0), (5, 3.0)]
    # Idle for a while, the burst is back; not more than it.
    time.now = 10.0
    got = await turns(time, limits, [ALICE] * 4)
    assert [at for _, at in got] == [10.0, 10.0, 10.0, 11.0]


async def test_a_group_gets_twenty_in_any_minute() -> None:
    time = VirtualTime()
    limits = limiter(time, **UNBOUNDED)
    # An admin's replies go at once while the minute has room …
    got = await turns(time, limits, [GROUP] * 4)
    assert [at for _, at in got] == pytest.approx([0.0, 0.0, 0.0, 0.0])
    time.now = 30.0
    got = await turns(time, limits, [GROUP] * 17)
    # … sixteen more fit in the minute that began at 0; the next waits for it to end.
    assert [at for _, at in got[:16]] == pytest.approx([30.0] * 16)
    assert got[16][1] == pytest.approx(60.0)
    # Never more than twenty in any sixty seconds.
    times = sorted([0.0] * 4 + [at for _, at in got])
    assert all(b - a >= 60.0 - 1e-6 for a, b in zip(times, times[20:], strict=False))


async def test_a_channel_name_is_a_group_and_a_string_id_is_its_number() -> None:
    time = VirtualTime()
    limits = limiter(time, **UNBOUNDED)
    names = ["@office"] * 21 + [str(ALICE), ALICE]
    got = dict(await turns(time, limits, names))
    assert got[20] == pytest.approx(60.0)  # the channel is counted as a group
    assert (got[21], got[22]) == pytest.approx((0.0, 0.0))


async def test_overall_thirty_a_second_across_chats() -> None:
    time = VirtualTime()
    limits = limiter(time, per_second=30.0)
    got = await turns(time, limits, list(range(1, 61)), exact=True)
    assert [n for n, _ in got] == list(range(60))
    assert got[-1][1] == pytest.approx(59 / 30)
    # Never more than thirty within any second.
    times = [at for _, at in got]
    assert max(sum(1 for t in times if end - 1.0 < t <= end) for end in times) == 30


async def test_an_album_counts_as_its_items() -> None:
    time = VirtualTime()
    limits = limiter(time, **UNBOUNDED)
    got = await turns(time, limits, [ALICE], count=3)
    assert got == [(0, 0.0)]
    # The burst is spent: the next message waits its second.
    got = await turns(time, limits, [ALICE])
    assert got == [(0, 1.0)]
    # An album bigger than the burst waits until its last item may go.
    time.now = 100.0
    got = await turns(time, limits, [BOB], count=5)
    assert got == [(0, 102.0)]


async def test_a_waiting_chat_keeps_no_other_chat_waiting() -> None:
    time = VirtualTime()
    limits = limiter(time, per_second=10.0)
    got = await turns(time, limits, [ALICE] * 5 + [BOB])
    at = dict(got)
    # Alice's fourth and fifth wait for her chat's pace; Bob goes in the overall order.
    assert at[5] == pytest.approx(0.3)
    assert at[3] == pytest.approx(1.0)
    assert at[4] == pytest.approx(2.0)
    # Those who asked first went first.
    assert [n for n, _ in got] == [0, 1, 2, 5, 3, 4]


async def test_turns_are_first_come_first_served_overall() -> None:
    time = VirtualTime()
    limits = limiter(time, per_second=2.0)
    got = await turns(time, limits, [ALICE, BOB, GROUP, 7, 8])
    assert got == [(0, 0.0), (1, 0.5), (2, 1.0), (3, 1.5), (4, 2.0)]


async def test_a_429_pauses_its_chat_only() -> None:
    time = VirtualTime()
    limits = limiter(time, **UNBOUNDED)
    limits.penalise(ALICE, 5)
    assert limits.paused_for(ALICE) == 5.0
    assert limits.paused_for(BOB) == 0.0
    got = await turns(time, limits, [ALICE, BOB, ALICE])
    assert dict(got) == {1: 0.0, 0: 5.0, 2: 6.0}


async def test_a_429_without_a_chat_pauses_everyone() -> None:
    time = VirtualTime()
    limits = limiter(time, per_second=30.0)
    limits.penalise(None, 2)
    assert limits.paused_for(BOB) == 2.0
    got = await turns(time, limits, [ALICE, BOB, None])
    assert [at for _, at in got] == [2.0, 2.033, 2.067]


async def test_a_pause_that_comes_while_waiting_voids_the_turn() -> None:
    time = VirtualTime()
    limits = limiter(time, **UNBOUNDED)
    got: list[float] = []

    async def third_message() -> None:
        for _ in range(4):
            await limits.acquire(ALICE)
        got.append(time.now)

    async def flood() -> None:
        await time.sleep(0.5)
        limits.penalise(ALICE, 10)

    await time.run(third_message(), flood())
    # The fourth turn was due at 1.0; the pause from 0.5 moves it to 10.5.
    assert got == [10.5]


async def test_a_wait_for_pauses_only_takes_no_turn() -> None:
    time = VirtualTime()
    limits = limiter(time, **UNBOUNDED)
    limits.penalise(GROUP, 4)
    got = await turns(time, limits, [GROUP, GROUP], count=0)
    assert [at for _, at in got] == [4.0, 4.0]
    # Nothing was used: the group's next message goes at once.
    got = await turns(time, limits, [GROUP])
    assert [at for _, at in got] == [4.0]


async def test_ready_waits_without_taking_a_turn() -> None:
    time = InstantTime()
    limits = limiter(time, **UNBOUNDED)
    for _ in range(20):
        await limits.acquire(GROUP)
    assert time.now == pytest.approx(0.0, abs=1e-3)
    await limits.ready(GROUP)
    assert time.now == pytest.approx(60.0, abs=1e-3)
    await limits.acquire(GROUP)
    assert time.now == pytest.approx(60.0, abs=1e-3)


async def test_waiting_is_sleeping_never_polling() -> None:
    time = InstantTime()
    limits = limiter(time, **UNBOUNDED)
    for _ in range(10):
        await limits.acquire(ALICE)
    # Three in the burst, then one sleep for each of the other seven.
    assert len(time.sleeps) == 7
    assert time.sleeps == pytest.approx([1.0] * 7, abs=1e-3)


def test_rates_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Limiter(per_second=0)
    with pytest.raises(ValueError, match="burst"):
        Limiter(private_burst=0)
