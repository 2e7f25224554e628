"""Answering callback queries: Telegram's window (about 10 s from the press), one answer
only, and what the control API records of every press for a benchmark."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from sandbox.server import Sandbox, SandboxConfig
from tests.sandbox.conftest import Client, FakeClock

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CARD = {"inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]}


async def _card(client: Client, chat_id: int) -> None:
    await client.ok("sendMessage", chat_id=chat_id, text="Card", reply_markup=CARD)


async def _press(client: Client, user_id: int, chat_id: int | None = None) -> str:
    body = {"chat_id": user_id if chat_id is None else chat_id, "from_id": user_id, "text": "Take"}
    return str((await client.control("/sandbox/callbacks", body))["callback_query_id"])


async def _answer(client: Client, query_id: str, **extra: Any) -> tuple[int, Any]:
    return await client.api("answerCallbackQuery", callback_query_id=query_id, **extra)


async def _callbacks(client: Client, query: str = "") -> dict[str, Any]:
    status, answer = await client.get(f"/sandbox/callbacks{query}")
    assert status == 200, answer
    return dict(answer)


def test_the_window_is_ten_seconds_by_default() -> None:
    assert SandboxConfig().callback_answer_timeout == 10.0


async def test_an_answer_within_ten_seconds_is_taken_one_later_is_too_old(
    client: Client, clock: FakeClock
) -> None:
    alice = await client.user()
    await _card(client, alice)
    in_time = await _press(client, alice)
    late = await _press(client, alice)
    clock.advance(10)
    assert await _answer(client, in_time) == (200, {"ok": True, "result": True})
    clock.advance(0.001)
    assert await client.error("answerCallbackQuery", callback_query_id=late) == (400, TOO_OLD)
    # Too late stays too late: the query is expired, never answered.
    assert await client.error("answerCallbackQuery", callback_query_id=late) == (400, TOO_OLD)
    # An unknown id, and a second answer, are refused with the same words.
    assert await client.error("answerCallbackQuery", callback_query_id="77") == (400, TOO_OLD)
    assert await client.error("answerCallbackQuery", callback_query_id=in_time) == (400, TOO_OLD)

    status, shown = await client.get(f"/sandbox/callbacks/{late}")
    assert status == 200
    assert {k: shown[k] for k in ("state", "answered", "delay", "answered_at")} == {
        "state": "expired",
        "answered": False,
        "delay": None,
        "answered_at": None,
    }
    assert (shown["late_attempts"], shown["late_delay"]) == (2, pytest.approx(10.001))
    status, shown = await client.get(f"/sandbox/callbacks/{in_time}")
    assert (shown["state"], shown["delay"], shown["repeat_attempts"]) == ("answered", 10.0, 1)
    assert shown["answered_at"] >= shown["pressed_at"] > 0
    assert (shown["chat_id"], shown["from_id"], shown["data"]) == (alice, alice, "take:1")


async def test_the_window_can_be_set_and_changed_at_run_time(
    client: Client, clock: FakeClock
) -> None:
    alice = await client.user()
    await _card(client, alice)
    limits = await client.control("/sandbox/limits", {"callback_answer_timeout": 2})
    assert limits["callback_answer_timeout"] == 2.0
    query = await _press(client, alice)
    clock.advance(2.5)
    assert await client.error("answerCallbackQuery", callback_query_id=query) == (400, TOO_OLD)
    assert (await _callbacks(client))["window"] == 2.0


async def test_the_window_comes_from_the_config() -> None:
    clock = FakeClock()
    config = SandboxConfig(port=0, limits=False, callback_answer_timeout=3.0)
    async with Sandbox(config, clock=clock) as sandbox, aiohttp.ClientSession() as http:
        client = Client(sandbox, http)
        alice = await client.user()
        await _card(client, alice)
        query = await _press(client, alice)
        clock.advance(3.5)
        assert await client.error("answerCallbackQuery", callback_query_id=query) == (400, TOO_OLD)
        assert (await client.get("/sandbox/limits"))[1]["callback_answer_timeout"] == 3.0


async def test_a_benchmark_reads_delays_percentiles_and_unanswered_presses(
    client: Client, clock: FakeClock
) -> None:
    alice = await client.user("Alice")
    bob = await client.user("Bob")
    await _card(client, alice)
    await _card(client, bob)
    # 100 presses answered 0.01 .. 1.00 s after the press, then one never answered and
    # one still waiting.
    for n in range(1, 101):
        query = await _press(client, alice)
        clock.advance(n / 100)
        assert (await _answer(client, query))[0] == 200
    forgotten = await _press(client, bob)
    clock.advance(11)
    waiting = await _press(client, bob)

    seen = await _callbacks(client)
    assert seen["window"] == 10.0
    summary = seen["summary"]
    assert {k: summary[k] for k in ("pressed", "answered", "pending", "expired")} == {
        "pressed": 102,
        "answered": 100,
        "pending": 1,
        "expired": 1,
    }
    assert summary["delay_p50"] == pytest.approx(0.50)
    assert summary["delay_p90"] == pytest.approx(0.90)
    assert summary["delay_p99"] == pytest.approx(0.99)
    assert summary["delay_max"] == pytest.approx(1.00)
    states = {c["callback_query_id"]: c["state"] for c in seen["callbacks"]}
    assert (states[forgotten], states[waiting]) == ("expired", "pending")
    assert [c["seq"] for c in seen["callbacks"]] == sorted(c["seq"] for c in seen["callbacks"])

    # Only Bob's chat; only the presses after a given one.
    bobs = await _callbacks(client, f"?chat_id={bob}")
    assert [c["callback_query_id"] for c in bobs["callbacks"]] == [forgotten, waiting]
    assert bobs["summary"]["delay_p99"] is None
    last_seq = next(c["seq"] for c in seen["callbacks"] if c["callback_query_id"] == forgotten)
    later = await _callbacks(client, f"?since={last_seq}")
    assert [c["callback_query_id"] for c in later["callbacks"]] == [waiting]


async def test_reset_forgets_the_presses(client: Client) -> None:
    alice = await client.user()
    await _card(client, alice)
    await _press(client, alice)
    await client.control("/sandbox/reset")
    seen = await _callbacks(client)
    assert (seen["callbacks"], seen["summary"]["pressed"]) == ([], 0)
