"""What the bot receives by getUpdates: messages, button presses, blocks, redeliveries."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from sandbox.server import Sandbox, SandboxConfig
from tests.sandbox.conftest import BOT_ID, TOKEN, Client, FakeClock

# Generous bounds against a hang; no test waits for them to pass.
HANG = 10


async def test_an_update_is_handed_out_until_a_higher_offset_confirms_it(client: Client) -> None:
    alice = await client.user()
    first = await client.say(alice, "/start")
    second = await client.say(alice, "hello")
    assert (first["update_id"], second["update_id"]) == (1, 2)
    updates = await client.ok("getUpdates")
    assert [u["update_id"] for u in updates] == [1, 2]
    assert updates[0]["message"]["text"] == "/start"
    assert updates[0]["message"]["from"]["id"] == alice
    assert [u["update_id"] for u in await client.ok("getUpdates", offset=1)] == [1, 2]
    assert [u["update_id"] for u in await client.ok("getUpdates", offset=2, limit=1)] == [2]
    assert await client.ok("getUpdates", offset=3) == []
    assert await client.ok("getUpdates") == []  # confirmed updates are gone for good
    log = (await client.get("/sandbox/updates"))[1]
    assert [(u["update_id"], u["delivered"], u["confirmed"]) for u in log["updates"]] == [
        (1, True, True),
        (2, True, True),
    ]
    assert log["pending"] == []


async def test_a_negative_offset_keeps_only_the_newest(client: Client) -> None:
    alice = await client.user()
    for text in ("a", "b", "c"):
        await client.say(alice, text)
    assert [u["message"]["text"] for u in await client.ok("getUpdates", offset=-1)] == ["c"]
    assert [u["message"]["text"] for u in await client.ok("getUpdates")] == ["c"]


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(client: Client) -> None:
    alice = await client.user()
    poll = asyncio.create_task(client.ok("getUpdates", timeout=30))
    await asyncio.sleep(0.05)
    assert not poll.done()
    await client.say(alice, "hi")
    updates = await asyncio.wait_for(poll, HANG)
    assert [u["message"]["text"] for u in updates] == ["hi"]


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(port=0, limits=False, long_poll_max=1)


async def test_a_long_poll_is_capped_and_answers_empty(client: Client) -> None:
    assert await asyncio.wait_for(client.ok("getUpdates", timeout=3600), HANG) == []


async def test_closing_the_sandbox_ends_a_long_poll_at_once() -> None:
    async with Sandbox(SandboxConfig(port=0)) as sandbox, aiohttp.ClientSession() as http:

        async def poll() -> Any:
            url = f"{sandbox.url}/bot{TOKEN}/getUpdates"
            async with http.post(url, json={"timeout": 50}) as resp:
                return await resp.json()

        waiting = asyncio.create_task(poll())
        await asyncio.sleep(0.05)
        await asyncio.wait_for(sandbox.close(), HANG)
        assert (await asyncio.wait_for(waiting, HANG))["result"] == []


async def test_allowed_updates_filter_new_updates_and_are_remembered(client: Client) -> None:
    alice = await client.user()
    assert await client.ok("getUpdates", allowed_updates=["callback_query"]) == []
    skipped = await client.say(alice, "not wanted")
    assert await client.ok("getUpdates") == []  # still filtered: the setting is remembered
    status, _ = await client.form("getUpdates", allowed_updates=[])  # back to the default
    assert status == 200
    await client.say(alice, "wanted")
    assert [u["message"]["text"] for u in await client.ok("getUpdates")] == ["wanted"]
    log = (await client.get("/sandbox/updates"))[1]["updates"]
    assert [(u["update_id"], u["skipped"]) for u in log] == [
        (skipped["update_id"], True),
        (skipped["update_id"] + 1, False),
    ]


async def test_pressing_a_button_by_data_or_text_and_answering_it(
    client: Client, clock: FakeClock
) -> None:
    alice = await client.user()
    markup = {
        "inline_keyboard": [
            [
                {"text": "Yes", "callback_data": "confirm:1"},
                {"text": "Docs", "url": "https://example.org"},
            ]
        ]
    }
    card = await client.ok("sendMessage", chat_id=alice, text="Confirm?", reply_markup=markup)
    await client.ok("sendMessage", chat_id=alice, text="Later, no buttons")
    pressed = await client.control(
        "/sandbox/callbacks", {"chat_id": alice, "from_id": alice, "text": "Yes"}
    )
    assert (pressed["message_id"], pressed["data"]) == (card["message_id"], "confirm:1")
    (update,) = await client.ok("getUpdates")
    query = update["callback_query"]
    assert update["update_id"] == pressed["update_id"]
    assert query["id"] == pressed["callback_query_id"]
    assert (query["data"], query["from"]["id"]) == ("confirm:1", alice)
    assert query["message"]["reply_markup"] == markup
    assert query["message"]["from"]["id"] == BOT_ID
    status, answer = await client.get(f"/sandbox/callbacks/{query['id']}")
    assert (status, answer["answered"], answer["state"], answer["delay"]) == (
        200,
        False,
        "pending",
        None,
    )
    assert (
        await client.ok(
            "answerCallbackQuery", callback_query_id=query["id"], text="Filed", show_alert=True
        )
        is True
    )
    answer = (await client.get(f"/sandbox/callbacks/{query['id']}"))[1]
    shown = {key: answer[key] for key in ("answered", "text", "show_alert", "url")}
    assert shown == {"answered": True, "text": "Filed", "show_alert": True, "url": None}
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    assert await client.error("answerCallbackQuery", callback_query_id=query["id"]) == (
        400,
        too_old,
    )
    assert await client.error("answerCallbackQuery", callback_query_id="123") == (400, too_old)
    by_data = await client.control(
        "/sandbox/callbacks", {"chat_id": alice, "from_id": alice, "data": "confirm:1"}
    )
    clock.advance(61)
    assert await client.error(
        "answerCallbackQuery", callback_query_id=by_data["callback_query_id"]
    ) == (400, too_old)
    assert await client.error(
        "answerCallbackQuery", callback_query_id=query["id"], text="x" * 201
    ) == (400, too_old)


async def test_a_pressed_button_carries_the_message_as_it_is_now(client: Client) -> None:
    alice = await client.user()
    old = {"inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]}
    new = {"inline_keyboard": [[{"text": "Decide", "callback_data": "decide:1"}]]}
    mid = (await client.ok("sendMessage", chat_id=alice, text="Card", reply_markup=old))[
        "message_id"
    ]
    await client.ok(
        "editMessageText", chat_id=alice, message_id=mid, text="Card (taken)", reply_markup=new
    )
    status, answer = await client.post(
        "/sandbox/callbacks", {"chat_id": alice, "from_id": alice, "data": "take:1"}
    )
    assert status == 404
    assert (
        answer["error"] == f"no button with callback data 'take:1' on any message in chat {alice}"
    )
    pressed = await client.control(
        "/sandbox/callbacks",
        {"chat_id": alice, "from_id": alice, "message_id": mid, "text": "Decide"},
    )
    (update,) = await client.ok("getUpdates")
    assert update["callback_query"]["message"]["text"] == "Card (taken)"
    assert update["callback_query"]["message"]["edit_date"] > 0
    assert pressed["data"] == "decide:1"


async def test_blocking_and_unblocking_send_my_chat_member(client: Client) -> None:
    alice = await client.user()
    await client.ok("getMe")  # the sandbox learns who the bot is from its token
    blocked = await client.control("/sandbox/block", {"user_id": alice, "blocked": True})
    again = await client.control("/sandbox/block", {"user_id": alice, "blocked": True})
    assert again["update_id"] is None  # no change, no update
    back = await client.control("/sandbox/block", {"user_id": alice, "blocked": False})
    updates = await client.ok("getUpdates")
    assert [u["update_id"] for u in updates] == [blocked["update_id"], back["update_id"]]
    first, second = (u["my_chat_member"] for u in updates)
    assert first["chat"]["id"] == alice
    assert first["from"]["id"] == alice
    assert (first["old_chat_member"]["status"], first["new_chat_member"]["status"]) == (
        "member",
        "kicked",
    )
    assert first["new_chat_member"]["user"]["id"] == BOT_ID
    assert (second["old_chat_member"]["status"], second["new_chat_member"]["status"]) == (
        "kicked",
        "member",
    )


async def test_writing_to_the_bot_unblocks_it_first(client: Client) -> None:
    alice = await client.user()
    await client.control("/sandbox/block", {"user_id": alice, "blocked": True})
    await client.ok("getUpdates", offset=-1)  # drop the block update
    await client.ok("getUpdates", offset=2)
    await client.say(alice, "/start")
    updates = await client.ok("getUpdates")
    assert [next(k for k in u if k != "update_id") for u in updates] == [
        "my_chat_member",
        "message",
    ]
    await client.ok("sendMessage", chat_id=alice, text="Welcome back")


async def test_redelivery_hands_out_the_same_update_again(client: Client) -> None:
    alice = await client.user()
    said = await client.say(alice, "/start")
    await client.say(alice, "later")
    first = await client.ok("getUpdates")
    assert await client.ok("getUpdates", offset=3) == []
    status, answer = await client.post("/sandbox/redeliver", {"update_id": said["update_id"]})
    assert (status, answer) == (200, {"update_id": said["update_id"], "queued": True})
    (again,) = await client.ok("getUpdates", offset=3)  # despite the offset past it
    assert again == first[0]
    assert await client.ok("getUpdates", offset=again["update_id"] + 1) == []
    record = (await client.get("/sandbox/updates"))[1]["updates"][0]
    assert (record["deliveries"], record["confirmed"]) == (2, True)
    assert await client.post("/sandbox/redeliver", {"update_id": 99}) == (
        404,
        {"error": "no update 99"},
    )


async def test_get_updates_is_refused_while_a_webhook_is_set(client: Client) -> None:
    assert await client.ok("setWebhook", url="http://127.0.0.1:9/hook") is True
    assert await client.error("getUpdates") == (
        409,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first",
    )
    status, answer = await client.api("deleteWebhook")
    assert (status, answer["description"]) == (200, "Webhook was deleted")
    assert await client.ok("getUpdates") == []


async def test_a_raw_update_is_delivered_exactly_as_given(client: Client) -> None:
    alice = await client.user()
    await client.say(alice, "first")
    broken = {"message": {"message_id": 1, "chat": {"id": 2**70}, "poll": {"id": "1"}}}
    made = await client.control("/sandbox/updates", {"update": broken})
    assert made == {"update_id": 2, "type": "message", "skipped": False}
    odd = {"edited_message": {"text": "a\x00b\ud800"}, "message": None}
    assert (await client.control("/sandbox/updates", {"update": odd}))["type"] == "edited_message"
    updates = await client.ok("getUpdates")
    assert updates[1:] == [{"update_id": 2, **broken}, {"update_id": 3, **odd}]
    # Nothing in the world changed: no message was kept anywhere.
    assert [m["text"] for m in await client.messages(alice)] == ["first"]


async def test_a_raw_update_follows_allowed_updates_unless_told_to_ignore_them(
    client: Client,
) -> None:
    assert await client.ok("getUpdates", allowed_updates=["message"]) == []
    post = {"channel_post": {"message_id": 1}}
    skipped = await client.control("/sandbox/updates", {"update": post})
    forced = await client.control("/sandbox/updates", {"update": post, "ignore_allowed": True})
    assert (skipped["skipped"], forced["skipped"]) == (True, False)
    assert [u["update_id"] for u in await client.ok("getUpdates")] == [forced["update_id"]]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, '"update" must be a non-empty object'),
        ({"update": {}}, '"update" must be a non-empty object'),
        ({"update": [1]}, '"update" must be an object'),
        ({"update": {"update_id": 5, "message": {}}}, '"update_id" is the sandbox\'s to give'),
        ({"update": {"message": {}}, "force": True}, "unknown field force"),
    ],
)
async def test_a_raw_update_must_be_an_object_without_an_id(
    client: Client, body: dict[str, Any], error: str
) -> None:
    status, answer = await client.post("/sandbox/updates", body)
    assert status == 400
    assert error in answer["error"]
    assert (await client.get("/sandbox/updates"))[1]["updates"] == []


async def test_a_lone_surrogate_in_a_persons_text_is_one_utf16_unit(client: Client) -> None:
    alice = await client.user()
    said = await client.say(alice, "a\ud800b")
    (update,) = await client.ok("getUpdates")
    assert update["message"]["text"] == "a\ud800b"
    assert said["update_id"] == update["update_id"]
    status, answer = await client.post(
        "/sandbox/messages", {"from_id": alice, "text": "\ud800" * 4097}
    )
    assert (status, answer["error"]) == (400, '"text" is over 4096 characters')
