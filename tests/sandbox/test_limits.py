"""Flood limits: overall per second, a bucket per private chat, a window per group."""

from __future__ import annotations

import pytest

from sandbox.limits import LimitSettings, RateLimiter
from sandbox.server import SandboxConfig
from tests.sandbox.conftest import Client, FakeClock


def limiter(clock: FakeClock, **settings: float) -> RateLimiter:
    return RateLimiter(LimitSettings(**settings), clock)  # type: ignore[arg-type]


def test_a_private_chat_allows_a_burst_then_one_a_second(clock: FakeClock) -> None:
    limits = limiter(clock, private_burst=3, private_per_second=1.0)
    assert [limits.acquire(7, private=True) for _ in range(3)] == [None, None, None]
    assert limits.acquire(7, private=True) == 1
    clock.advance(0.5)
    assert limits.acquire(7, private=True) == 1  # half a token: still waiting
    clock.advance(0.5)
    assert limits.acquire(7, private=True) is None
    assert limits.acquire(8, private=True) is None  # another chat has its own bucket


def test_a_slow_refill_asks_for_the_whole_wait(clock: FakeClock) -> None:
    limits = limiter(clock, private_burst=1, private_per_second=0.25)
    assert limits.acquire(7, private=True) is None
    assert limits.acquire(7, private=True) == 4


def test_the_overall_limit_is_a_sliding_second(clock: FakeClock) -> None:
    limits = limiter(clock, global_per_second=5, private_burst=100, private_per_second=100)
    for chat in range(5):
        assert limits.acquire(chat, private=True) is None
        clock.advance(0.1)
    assert limits.acquire(99, private=True) == 1
    clock.advance(0.55)  # only the first send has aged out of the window
    assert limits.acquire(99, private=True) is None
    assert limits.acquire(98, private=True) == 1


def test_a_group_takes_its_per_minute_count_then_waits(clock: FakeClock) -> None:
    limits = limiter(clock, group_per_minute=3)
    for _ in range(3):
        assert limits.acquire(-100, private=False) is None
        clock.advance(10)
    # The first of the three leaves the window 60 s after it: 30 s from now.
    assert limits.acquire(-100, private=False) == 30
    assert limits.acquire(-200, private=False) is None  # another group is free
    clock.advance(30)
    assert limits.acquire(-100, private=False) is None


def test_an_album_counts_as_its_items(clock: FakeClock) -> None:
    limits = limiter(clock, group_per_minute=20)
    assert limits.acquire(-100, private=False, count=10) is None
    assert limits.acquire(-100, private=False, count=10) is None
    assert limits.acquire(-100, private=False, count=1) == 60


def test_a_refused_call_takes_nothing(clock: FakeClock) -> None:
    limits = limiter(clock, global_per_second=2, private_burst=1, private_per_second=1)
    assert limits.acquire(1, private=True) is None
    assert limits.acquire(1, private=True) == 1  # refused: took no overall slot
    assert limits.acquire(2, private=True) is None
    assert limits.acquire(3, private=True) == 1  # the overall limit of 2 is now spent


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(port=0, limits=True, private_burst=2, group_per_minute=3)


async def test_sending_past_a_limit_answers_429_and_sends_nothing(
    client: Client, clock: FakeClock
) -> None:
    alice = await client.user()
    assert (await client.ok("sendMessage", chat_id=alice, text="1"))["message_id"]
    await client.ok("sendPhoto", chat_id=alice, photo=await _photo_id(client, alice))
    status, answer = await client.api("sendMessage", chat_id=alice, text="3")
    assert status == 429
    assert answer == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    shown = [m["text"] for m in await client.messages(alice)]
    assert shown == ["1", "pic", None]  # the refused "3" is nowhere
    clock.advance(1)
    await client.ok("sendMessage", chat_id=alice, text="3")
    assert (await client.messages(alice))[-1]["text"] == "3"


async def _photo_id(client: Client, user_id: int) -> str:
    """A photo the person sent: re-sending it by file id costs no upload."""
    sent = await client.control(
        "/sandbox/messages",
        {"chat_id": user_id, "from_id": user_id, "photo": True, "caption": "pic"},
    )
    return str(sent["message"]["photo"][-1]["file_id"])


async def test_groups_copies_and_albums_count_and_edits_do_not(
    client: Client, clock: FakeClock
) -> None:
    alice = await client.user()
    office = await client.group({alice: "member"})
    photo = await _photo_id(client, alice)
    first = await client.ok("sendMessage", chat_id=office, text="card")
    await client.ok(
        "copyMessage", chat_id=office, from_chat_id=office, message_id=first["message_id"]
    )
    for n in range(5):  # edits are not sends
        await client.ok(
            "editMessageText", chat_id=office, message_id=first["message_id"], text=f"v{n}"
        )
    status, answer = await client.api(
        "sendMediaGroup",
        chat_id=office,
        media=[{"type": "photo", "media": photo}, {"type": "photo", "media": photo}],
    )
    assert status == 429
    assert answer["parameters"]["retry_after"] == 60
    clock.advance(60)
    album = await client.ok(
        "sendMediaGroup",
        chat_id=office,
        media=[{"type": "photo", "media": photo}, {"type": "photo", "media": photo}],
    )
    assert len(album) == 2


async def test_limits_can_be_turned_off_and_retuned_at_run_time(
    client: Client, clock: FakeClock
) -> None:
    alice = await client.user()
    settings = await client.control("/sandbox/limits", {"enabled": False})
    assert settings["enabled"] is False
    for n in range(5):
        await client.ok("sendMessage", chat_id=alice, text=str(n))
    settings = await client.control(
        "/sandbox/limits", {"enabled": True, "private_burst": 1, "private_per_second": 0.5}
    )
    assert (settings["private_burst"], settings["private_per_second"]) == (1, 0.5)
    await client.ok("sendMessage", chat_id=alice, text="a")
    status, answer = await client.api("sendMessage", chat_id=alice, text="b")
    assert (status, answer["parameters"]["retry_after"]) == (429, 2)
    status, answer = await client.post("/sandbox/limits", {"private_burst": 0})
    assert (status, answer["error"]) == (400, '"private_burst" must be positive, not 0')
    status, answer = await client.post("/sandbox/limits", {"burst": 3})
    assert status == 400
    assert answer["error"].startswith("unknown setting burst")
