"""Injected faults: any method, by chance from a seeded generator, and timeouts before or
after the call took effect, counted apart so a test can bound the duplicates they allow."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from sandbox.server import BOT_API, Sandbox, SandboxConfig
from tests.sandbox.conftest import Client, FakeClock

HANG = 20
TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CARD = {"inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]}


async def _faults(client: Client) -> dict[str, Any]:
    status, answer = await client.get("/sandbox/faults")
    assert status == 200, answer
    return dict(answer)


@pytest.mark.parametrize("method", sorted(BOT_API))
async def test_every_method_can_be_made_to_fail(client: Client, method: str) -> None:
    alice = await client.user()
    await client.control("/sandbox/faults", {"method": method, "status": 500, "times": 0})
    assert await client.error(method, chat_id=alice) == (500, "Internal Server Error")
    other = "getMe" if method != "getMe" else "getWebhookInfo"
    await client.ok(other)
    assert (await _faults(client))["applied_by_method"] == {method: {"status": 1}}


async def test_faults_on_answers_and_edits_can_aim_at_one_chat(client: Client) -> None:
    alice = await client.user("Alice")
    bob = await client.user("Bob")
    cards = {}
    for person in (alice, bob):
        cards[person] = await client.ok(
            "sendMessage", chat_id=person, text="Card", reply_markup=CARD
        )
    for method in ("answerCallbackQuery", "editMessageText"):
        await client.control(
            "/sandbox/faults",
            {"method": method, "status": 429, "retry_after": 3, "chat_id": bob, "times": 0},
        )
    queries = {}
    for person in (alice, bob):
        pressed = await client.control(
            "/sandbox/callbacks", {"chat_id": person, "from_id": person, "text": "Take"}
        )
        queries[person] = pressed["callback_query_id"]
    await client.ok("answerCallbackQuery", callback_query_id=queries[alice])
    assert await client.error("answerCallbackQuery", callback_query_id=queries[bob]) == (
        429,
        "Too Many Requests: retry after 3",
    )
    edit = {"text": "Taken", "message_id": 1}
    await client.ok("editMessageText", chat_id=alice, **edit)
    assert await client.error("editMessageText", chat_id=bob, **edit) == (
        429,
        "Too Many Requests: retry after 3",
    )


async def _failures(client: Client, calls: int) -> list[int]:
    """Which of ``calls`` getMe calls failed."""
    failed = []
    for n in range(calls):
        status, _ = await client.api("getMe")
        if status != 200:
            failed.append(n)
    return failed


async def test_a_fault_by_chance_hits_about_that_share_of_calls_and_lasts(client: Client) -> None:
    fault = await client.control(
        "/sandbox/faults", {"method": "*", "status": 502, "probability": 0.2}
    )
    assert (fault["probability"], fault["times"], fault["kind"]) == (0.2, None, "status")
    failed = await _failures(client, 400)
    assert 50 <= len(failed) <= 110, len(failed)
    listed = await _faults(client)
    assert [f["applied"] for f in listed["faults"]] == [len(failed)]
    assert listed["applied"]["status"] == len(failed)
    logged = await client.requests("?method=getMe")
    assert [n for n, r in enumerate(logged) if r["fault"] == "status"] == failed
    assert {r["fault_id"] for r in logged if r["fault"]} == {fault["id"]}


async def test_a_fault_by_chance_repeats_with_its_seed(client: Client) -> None:
    body = {"method": "getMe", "status": 500, "probability": 0.3, "seed": 7}
    first = await client.control("/sandbox/faults", body)
    assert first["seed"] == 7
    once = await _failures(client, 60)
    await client.delete("/sandbox/faults")
    await client.control("/sandbox/faults", body)
    assert await _failures(client, 60) == once
    await client.delete("/sandbox/faults")
    await client.control("/sandbox/faults", {**body, "seed": 8})
    assert await _failures(client, 60) != once


async def _pattern(config: SandboxConfig) -> list[int]:
    async with Sandbox(config, clock=FakeClock()) as sandbox, aiohttp.ClientSession() as http:
        client = Client(sandbox, http)
        await client.control(
            "/sandbox/faults", {"method": "getMe", "status": 500, "probability": 0.5}
        )
        return await _failures(client, 40)


async def test_the_default_seed_comes_from_the_config() -> None:
    base = SandboxConfig(port=0, limits=False)
    same = await _pattern(base)
    assert await _pattern(base) == same
    assert await _pattern(SandboxConfig(port=0, limits=False, fault_seed=1)) != same


async def test_a_timeout_after_the_call_sends_the_message_and_loses_the_answer(
    client: Client,
) -> None:
    alice = await client.user()
    fault = await client.control(
        "/sandbox/faults", {"method": "sendMessage", "timeout": "after", "delay": 0.5}
    )
    assert (fault["kind"], fault["times"]) == ("timeout_after", 1)
    held = asyncio.create_task(client.api("sendMessage", chat_id=alice, text="Filed"))
    await asyncio.sleep(0.2)
    # Performed (and logged) while the client still waits for an answer that never comes.
    assert [m["text"] for m in await client.messages(alice)] == ["Filed"]
    assert [(r["status"], r["fault"]) for r in await client.requests()] == [(200, "timeout_after")]
    assert not held.done()
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(held, HANG)
    await client.ok("sendMessage", chat_id=alice, text="Filed")  # the client's retry
    assert [m["text"] for m in await client.messages(alice)] == ["Filed", "Filed"]
    counted = await _faults(client)
    assert counted["applied"] == {
        "status": 0,
        "delay": 0,
        "timeout_before": 0,
        "timeout_after": 1,
    }
    assert counted["applied_by_method"] == {"sendMessage": {"timeout_after": 1}}


async def test_a_timeout_before_the_call_performs_nothing(client: Client) -> None:
    alice = await client.user()
    await client.control("/sandbox/faults", {"method": "sendMessage", "timeout": "before"})
    with pytest.raises(aiohttp.ClientError):
        await client.api("sendMessage", chat_id=alice, text="Filed")
    assert await client.messages(alice) == []
    (logged,) = await client.requests()
    assert (logged["status"], logged["ok"], logged["fault"]) == (0, False, "timeout_before")
    assert logged["error"] == "no answer: the connection was dropped (a timeout fault)"


async def test_a_timeout_after_an_answer_makes_the_retry_a_repeat(client: Client) -> None:
    alice = await client.user()
    await client.ok("sendMessage", chat_id=alice, text="Card", reply_markup=CARD)
    pressed = await client.control(
        "/sandbox/callbacks", {"chat_id": alice, "from_id": alice, "text": "Take"}
    )
    query = pressed["callback_query_id"]
    await client.control(
        "/sandbox/faults", {"method": "answerCallbackQuery", "timeout": "after", "chat_id": alice}
    )
    with pytest.raises(aiohttp.ClientError):
        await client.api("answerCallbackQuery", callback_query_id=query)
    assert await client.error("answerCallbackQuery", callback_query_id=query) == (400, TOO_OLD)
    shown = (await client.get(f"/sandbox/callbacks/{query}"))[1]
    assert (shown["state"], shown["repeat_attempts"]) == ("answered", 1)


async def test_updates_lost_to_a_timeout_come_again(client: Client) -> None:
    alice = await client.user()
    said = await client.say(alice, "hello")
    await client.control("/sandbox/faults", {"method": "getUpdates", "timeout": "after"})
    with pytest.raises(aiohttp.ClientError):
        await client.api("getUpdates")
    (update,) = await client.ok("getUpdates")
    assert update["update_id"] == said["update_id"]


async def test_a_forbidden_fault_on_every_method_by_chance(client: Client) -> None:
    alice = await client.user()
    await client.control(
        "/sandbox/faults",
        {
            "method": "*",
            "status": 403,
            "description": "Forbidden: bot was blocked by the user",
            "probability": 1,
        },
    )
    for method in ("sendMessage", "editMessageText", "answerCallbackQuery"):
        assert await client.error(method, chat_id=alice) == (
            403,
            "Forbidden: bot was blocked by the user",
        )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"method": "*", "status": 500, "probability": 0},
            '"probability" must be above 0 and at most 1, not 0.0',
        ),
        (
            {"method": "*", "status": 500, "probability": 1.5},
            '"probability" must be above 0 and at most 1, not 1.5',
        ),
        (
            {"method": "*", "timeout": "sometimes"},
            '"timeout" must be "before" or "after", not \'sometimes\'',
        ),
        (
            {"method": "*", "timeout": "after", "status": 504},
            'a "timeout" fault has no "status": no answer comes at all',
        ),
        ({"method": "*", "seed": "x", "status": 500}, "\"seed\" must be an integer, not 'x'"),
        (
            {"method": "leaveChat", "probability": 0.5},
            'a fault needs a "status" to fail with, a "delay", or a "timeout"',
        ),
    ],
)
async def test_a_fault_that_makes_no_sense_is_refused(
    client: Client, body: dict[str, Any], error: str
) -> None:
    assert await client.post("/sandbox/faults", body) == (400, {"error": error})
