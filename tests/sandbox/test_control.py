"""The control API: people, groups, what they send, faults, the log, reset; and its refusals."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from tests.sandbox.conftest import BOT_ID, TOKEN, Client

HANG = 10


async def test_users_get_ids_from_1000_and_a_private_chat(client: Client) -> None:
    alice = await client.control(
        "/sandbox/users", {"first_name": "Alice", "username": "alice", "language_code": "zh-hans"}
    )
    assert alice == {
        "id": 1000,
        "is_bot": False,
        "first_name": "Alice",
        "username": "alice",
        "language_code": "zh-hans",
    }
    bob = await client.control("/sandbox/users", {"id": 77, "first_name": "Bob", "last_name": "Li"})
    assert (bob["id"], bob["last_name"]) == (77, "Li")
    assert (await client.control("/sandbox/users", {"first_name": "Carol"}))["id"] == 1001
    users = (await client.get("/sandbox/users"))[1]["users"]
    assert [(u["id"], u["blocked"]) for u in users] == [(1000, False), (77, False), (1001, False)]
    chats = (await client.get("/sandbox/chats"))[1]["chats"]
    assert [(c["id"], c["type"], c["user"]["first_name"]) for c in chats] == [
        (1000, "private", "Alice"),
        (77, "private", "Bob"),
        (1001, "private", "Carol"),
    ]


async def test_groups_with_members_and_the_bot_as_administrator(client: Client) -> None:
    alice = await client.user("Alice")
    bob = await client.user("Bob")
    await client.ok("getMe")
    made = await client.control(
        "/sandbox/chats",
        {
            "id": -100500,
            "type": "supergroup",
            "title": "Office",
            "members": [
                {"user_id": alice, "status": "creator"},
                {"user_id": bob, "status": "member"},
            ],
        },
    )
    assert (made["id"], made["type"], made["title"]) == (-100500, "supergroup", "Office")
    assert [(m["user"]["id"], m["status"]) for m in made["members"]] == [
        (alice, "creator"),
        (bob, "member"),
        (BOT_ID, "administrator"),
    ]
    changed = await client.control(
        "/sandbox/chats/-100500/members", {"user_id": bob, "status": "administrator"}
    )
    assert [m["status"] for m in changed["members"]][1] == "administrator"
    small = await client.control("/sandbox/chats", {"type": "group", "title": "Small"})
    assert small["id"] < 0
    assert small["type"] == "group"


async def test_people_send_text_photos_documents_contacts_and_locations(client: Client) -> None:
    alice = await client.user("Alice")
    office = await client.group({alice: "member"})
    text = await client.say(alice, "hello")
    photo = await client.control(
        "/sandbox/messages",
        {
            "chat_id": alice,
            "from_id": alice,
            "photo": True,
            "caption": "the pothole",
            "media_group_id": "g1",
        },
    )
    doc = await client.control(
        "/sandbox/messages",
        {
            "chat_id": alice,
            "from_id": alice,
            "document": {"file_name": "plan.pdf", "base64": base64.b64encode(b"%PDF-1").decode()},
        },
    )
    contact = await client.control(
        "/sandbox/messages",
        {
            "chat_id": alice,
            "from_id": alice,
            "contact": {"phone_number": "+86 138 0000 0000", "user_id": alice},
        },
    )
    place = await client.control(
        "/sandbox/messages",
        {
            "chat_id": alice,
            "from_id": alice,
            "location": {"latitude": 30.8, "longitude": 108.4},
            "reply_to_message_id": text["message"]["message_id"],
        },
    )
    in_group = await client.say(alice, "in the group", chat_id=office)
    assert photo["message"]["caption"] == "the pothole"
    assert photo["message"]["media_group_id"] == "g1"
    assert photo["message"]["photo"][0]["width"] == 320
    assert doc["message"]["document"]["file_name"] == "plan.pdf"
    assert doc["message"]["document"]["file_size"] == 6
    assert contact["message"]["contact"] == {
        "phone_number": "+86 138 0000 0000",
        "first_name": "Alice",
        "user_id": alice,
    }
    assert place["message"]["location"] == {"latitude": 30.8, "longitude": 108.4}
    assert place["message"]["reply_to_message"]["text"] == "hello"
    updates = await client.ok("getUpdates")
    assert [u["message"]["message_id"] for u in updates] == [
        m["message"]["message_id"] for m in (text, photo, doc, contact, place, in_group)
    ]
    history = await client.messages(alice)
    assert [(m["from_bot"], m["text"]) for m in history] == [
        (False, "hello"),
        (False, "the pothole"),
        (False, None),
        (False, None),
        (False, None),
    ]
    since = await client.messages(alice, since_id=history[2]["message_id"])
    assert [m["message_id"] for m in since] == [m["message_id"] for m in history[3:]]
    file_id = photo["message"]["photo"][-1]["file_id"]
    again = await client.control(
        "/sandbox/messages", {"from_id": alice, "photo": {"file_id": file_id}}
    )
    assert again["message"]["photo"][-1]["file_id"] == file_id


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/sandbox/users", {}, 400, '"first_name" is required (a non-empty string)'),
        (
            "/sandbox/users",
            {"first_name": ""},
            400,
            "\"first_name\" must be a non-empty string, not ''",
        ),
        (
            "/sandbox/users",
            {"first_name": "X", "id": -3},
            400,
            '"id" of a user must be positive, not -3',
        ),
        (
            "/sandbox/users",
            {"first_name": "X", "id": "7"},
            400,
            "\"id\" must be an integer, not '7'",
        ),
        ("/sandbox/users", {"first_name": "X", "id": 1000}, 409, "user 1000 already exists"),
        (
            "/sandbox/chats",
            {"type": "channel", "title": "T"},
            400,
            '"type" must be "group" or "supergroup", not \'channel\'',
        ),
        (
            "/sandbox/chats",
            {"type": "group", "title": "T", "id": 5},
            400,
            '"id" of a group must be negative, not 5',
        ),
        (
            "/sandbox/chats",
            {"type": "group", "title": "T", "members": [{"user_id": 5}]},
            404,
            "no user 5 (user_id); create it with POST /sandbox/users",
        ),
        (
            "/sandbox/chats",
            {"type": "group", "title": "T", "members": [{"user_id": 1000, "status": "boss"}]},
            400,
            '"status" must be one of creator, administrator, member, restricted, left, kicked, '
            "not 'boss'",
        ),
        (
            "/sandbox/chats",
            {"type": "group", "title": "T", "id": -1},
            409,
            "chat -1 already exists",
        ),
        (
            "/sandbox/chats/1000/members",
            {"user_id": 1000},
            400,
            "chat 1000 is a private chat; it has no members to set",
        ),
        ("/sandbox/chats/-9/members", {"user_id": 1000}, 404, "no chat -9"),
        (
            "/sandbox/messages",
            {"from_id": 5, "text": "x"},
            404,
            "no user 5 (from_id); create it with POST /sandbox/users",
        ),
        ("/sandbox/messages", {"from_id": 1000, "chat_id": -9, "text": "x"}, 404, "no chat -9"),
        (
            "/sandbox/messages",
            {"from_id": 1000},
            400,
            "give exactly one of text, photo, document, contact, location (got none)",
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "text": "x", "photo": True},
            400,
            "give exactly one of text, photo, document, contact, location (got text, photo)",
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "text": "  "},
            400,
            '"text" must be a non-empty string',
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "text": "x" * 4097},
            400,
            '"text" is over 4096 characters',
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "text": "x", "caption": "c"},
            400,
            '"caption" goes with a photo or a document only',
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "text": "x", "reply_to_message_id": 50},
            400,
            "no message 50 in chat 1000 to reply to",
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "photo": {"base64": "***"}},
            400,
            '"photo.base64" is not valid base64',
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "document": {"base64": "eA=="}},
            400,
            '"document.file_name" is required (a non-empty string)',
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "contact": {"first_name": "A"}},
            400,
            '"contact.phone_number" is required (a non-empty string)',
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "location": {"latitude": 1}},
            400,
            '"location" needs "latitude" and "longitude" (numbers)',
        ),
        (
            "/sandbox/messages",
            {"from_id": 1000, "chat_id": 1001, "text": "x"},
            400,
            "chat 1001 is the private chat of user 1001; user 1000 writes to the bot in chat 1000",
        ),
        (
            "/sandbox/messages",
            {"from_id": 1001, "chat_id": -1, "text": "x"},
            400,
            "user 1001 is not a member of chat -1 (status: left); add them with POST "
            "/sandbox/chats/-1/members",
        ),
        (
            "/sandbox/callbacks",
            {"from_id": 1000},
            400,
            'give "data" (callback data) or "text" (the button\'s label)',
        ),
        (
            "/sandbox/callbacks",
            {"from_id": 1000, "data": "x", "message_id": 99},
            404,
            "no message 99 in chat 1000",
        ),
        ("/sandbox/block", {"user_id": 1000}, 400, '"blocked" is required (true or false)'),
        (
            "/sandbox/faults",
            {"method": "sendMesage", "status": 500},
            400,
            '"method" \'sendMesage\' is not a Bot API method the sandbox answers (or "*" for any)',
        ),
        (
            "/sandbox/faults",
            {"method": "sendMessage"},
            400,
            'a fault needs a "status" to fail with, a "delay", or a "timeout"',
        ),
        (
            "/sandbox/faults",
            {"method": "sendMessage", "status": 200},
            400,
            '"status" must be an HTTP error status (400-599), not 200',
        ),
        ("/sandbox/redeliver", {}, 400, '"update_id" is required (an integer)'),
        (
            "/sandbox/limits",
            {"enabled": "yes"},
            400,
            "\"enabled\" must be true or false, not 'yes'",
        ),
    ],
)
async def test_the_control_api_says_what_is_wrong(
    client: Client, path: str, body: dict[str, Any], status: int, error: str
) -> None:
    await client.user("Alice")  # 1000
    await client.user("Bob")  # 1001
    await client.group({1000: "member"}, id=-1, type="group")
    assert await client.post(path, body) == (status, {"error": error})


async def test_a_control_body_must_be_a_json_object(client: Client) -> None:
    async with client.http.post(f"{client.url}/sandbox/chats", data=b"[1") as resp:
        assert (resp.status, await resp.json()) == (
            400,
            {"error": "the body must be a JSON object"},
        )
    assert await client.post("/sandbox/messages", [1]) == (
        400,
        {"error": "the body must be a JSON object"},
    )
    status, answer = await client.get("/sandbox/chats/abc/messages")
    assert (status, answer) == (400, {"error": "chat_id must be an integer"})


async def test_faults_fail_a_method_so_many_times_then_let_it_through(client: Client) -> None:
    alice = await client.user()
    fault = await client.control(
        "/sandbox/faults", {"method": "sendmessage", "status": 500, "times": 2}
    )
    assert fault["id"] == 1
    assert fault["method"] == "sendmessage"
    assert await client.error("sendMessage", chat_id=alice, text="1") == (
        500,
        "Internal Server Error",
    )
    assert await client.error("sendMessage", chat_id=alice, text="2") == (
        500,
        "Internal Server Error",
    )
    await client.ok("sendMessage", chat_id=alice, text="3")
    assert [m["text"] for m in await client.messages(alice)] == ["3"]
    assert (await client.get("/sandbox/faults"))[1]["faults"] == []
    logged = await client.requests("?method=SENDMESSAGE")
    assert [(r["status"], r["ok"], r["error"], r["params"]["text"]) for r in logged] == [
        (500, False, "Internal Server Error", "1"),
        (500, False, "Internal Server Error", "2"),
        (200, True, None, "3"),
    ]
    assert [r["seq"] for r in await client.requests(f"?since={logged[1]['seq']}")] == [
        logged[2]["seq"]
    ]


async def test_a_429_fault_looks_like_telegrams(client: Client) -> None:
    alice = await client.user()
    await client.control(
        "/sandbox/faults", {"method": "sendMessage", "status": 429, "retry_after": 7}
    )
    status, answer = await client.api("sendMessage", chat_id=alice, text="x")
    assert (status, answer) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )


async def test_faults_can_target_one_chat_and_last_until_cleared(client: Client) -> None:
    alice = await client.user("Alice")
    bob = await client.user("Bob")
    await client.control(
        "/sandbox/faults",
        {
            "method": "sendMessage",
            "status": 403,
            "description": "Forbidden: user is deactivated",
            "chat_id": bob,
            "times": 0,
        },
    )
    for _ in range(3):
        assert await client.error("sendMessage", chat_id=bob, text="x") == (
            403,
            "Forbidden: user is deactivated",
        )
    await client.ok("sendMessage", chat_id=alice, text="fine")
    assert await client.delete("/sandbox/faults") == (200, {"cleared": 1})
    await client.ok("sendMessage", chat_id=bob, text="fine now")
    wildcard = await client.control("/sandbox/faults", {"method": "*", "status": 502})
    assert await client.error("getMe") == (502, "Bad Gateway")
    assert await client.delete(f"/sandbox/faults/{wildcard['id']}") == (
        404,
        {"error": f"no fault {wildcard['id']} (spent, cleared, or never made)"},
    )


async def test_a_delay_fault_holds_the_call_then_performs_it(client: Client) -> None:
    alice = await client.user()
    await client.control("/sandbox/faults", {"method": "sendMessage", "delay": 0.5})
    held = asyncio.create_task(client.ok("sendMessage", chat_id=alice, text="slow"))
    await asyncio.sleep(0.1)
    assert not held.done()
    assert await client.messages(alice) == []  # not performed while held
    sent = await asyncio.wait_for(held, HANG)
    assert [m["message_id"] for m in await client.messages(alice)] == [sent["message_id"]]


async def test_reset_empties_the_world_but_keeps_counting(client: Client) -> None:
    alice = await client.user()
    said = await client.say(alice, "before")
    await client.control("/sandbox/faults", {"method": "getMe", "status": 500})
    await client.ok("setMyCommands", commands=[{"command": "start", "description": "Start"}])
    assert await client.control("/sandbox/reset") == {"ok": True}
    assert (await client.get("/sandbox/chats"))[1] == {"chats": []}
    assert (await client.get("/sandbox/users"))[1] == {"users": []}
    assert (await client.get("/sandbox/faults"))[1]["faults"] == []
    assert await client.requests() == []
    assert (await client.get("/sandbox/updates"))[1] == {"updates": [], "pending": []}
    await client.ok("getMe")  # the fault is gone
    # The bot's own settings survive; ids never repeat, so a running bot is not confused.
    assert await client.ok("getMyCommands") == [{"command": "start", "description": "Start"}]
    alice = await client.user()
    assert (await client.say(alice, "after"))["update_id"] == said["update_id"] + 1


async def test_limits_and_the_bot_are_reported(client: Client) -> None:
    settings = await client.control("/sandbox/limits", {"latency": 0.01})
    assert settings["latency"] == 0.01
    assert settings["enabled"] is False
    assert (await client.get("/sandbox/limits"))[1] == settings
    assert (await client.api("getMe"))[0] == 200
    bot = (await client.get("/sandbox/bot"))[1]
    assert bot["bot"]["id"] == 42
    assert bot["webhook"] is None
    assert TOKEN.startswith("42:")


async def test_latency_delays_every_call_before_it_is_performed(client: Client) -> None:
    alice = await client.user()
    await client.control("/sandbox/limits", {"latency": 0.5})
    held = asyncio.create_task(client.ok("sendMessage", chat_id=alice, text="far away"))
    await asyncio.sleep(0.1)
    assert not held.done()
    assert await client.messages(alice) == []
    await asyncio.wait_for(held, HANG)
    assert [m["text"] for m in await client.messages(alice)] == ["far away"]


async def test_a_crowd_of_users_in_one_call_all_or_none(client: Client) -> None:
    crowd = await client.control("/sandbox/users", [{"first_name": f"P{n}"} for n in range(3)])
    assert [u["id"] for u in crowd] == [1000, 1001, 1002]
    status, answer = await client.post(
        "/sandbox/users", [{"first_name": "Q"}, {"first_name": "R", "id": 1000}]
    )
    assert (status, answer) == (409, {"error": "user 1000 already exists"})
    users = (await client.get("/sandbox/users"))[1]["users"]
    assert [u["first_name"] for u in users] == ["P0", "P1", "P2"]  # Q was not kept
    assert await client.post("/sandbox/users", "Alice") == (
        400,
        {"error": "a user must be a JSON object"},
    )
