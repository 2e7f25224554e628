"""The bot's own place in a group: added by a person, leaving with leaveChat, removed;
and what it may do and hear there as each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.persist import restore, snapshot
from sandbox.server import SandboxConfig
from sandbox.world import World
from tests.sandbox.conftest import BOT_ID, Client

NOT_IN_SUPERGROUP = "Forbidden: bot is not a member of the supergroup chat"
NOT_IN_GROUP = "Forbidden: bot is not a member of the group chat"


async def _updates(client: Client) -> list[dict[str, Any]]:
    """Every queued update, confirming them."""
    updates: list[dict[str, Any]] = await client.ok("getUpdates")
    if updates:
        await client.ok("getUpdates", offset=updates[-1]["update_id"] + 1)
    return updates


async def test_a_stranger_makes_a_group_adds_the_bot_and_sends_commands(client: Client) -> None:
    await client.ok("getMe")  # the bot is running: the sandbox knows its id
    stranger = await client.user("Stranger")
    made = await client.control(
        "/sandbox/chats",
        {
            "type": "group",
            "title": "Stranger's own",
            "members": [{"user_id": stranger, "status": "creator"}],
            "added_by": stranger,
        },
    )
    group = made["id"]
    assert made["bot_status"] == "member"  # a bot a person adds is a plain member
    assert made["members"][-1]["status"] == "member"
    said = await client.say(stranger, "/report@outpost_bot pothole", chat_id=group)
    added, command = await _updates(client)
    assert added["update_id"] == made["update_id"]
    change = added["my_chat_member"]
    assert change["chat"] == {"id": group, "type": "group", "title": "Stranger's own"}
    assert change["from"]["id"] == stranger
    assert (change["old_chat_member"]["status"], change["new_chat_member"]["status"]) == (
        "left",
        "member",
    )
    assert change["new_chat_member"]["user"]["id"] == BOT_ID
    assert command["update_id"] == said["update_id"]
    assert command["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 19}]
    # A plain member is no administrator.
    admins = await client.ok("getChatAdministrators", chat_id=group)
    assert [a["user"]["id"] for a in admins] == [stranger]
    assert (await client.ok("getChatMember", chat_id=group, user_id=BOT_ID))["status"] == "member"
    assert await client.ok("getChatMemberCount", chat_id=group) == 2


async def test_leave_chat_tells_the_bot_and_closes_the_group_to_it(client: Client) -> None:
    alice = await client.user("Alice")
    office = await client.group({alice: "creator"})
    card = await client.ok(
        "sendMessage",
        chat_id=office,
        text="Card",
        reply_markup={"inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]},
    )
    await _updates(client)
    assert await client.ok("leaveChat", chat_id=office) is True
    (left,) = await _updates(client)
    change = left["my_chat_member"]
    assert change["from"]["id"] == BOT_ID
    assert (change["old_chat_member"]["status"], change["new_chat_member"]["status"]) == (
        "administrator",
        "left",
    )
    chats = {c["id"]: c for c in (await client.get("/sandbox/chats"))[1]["chats"]}
    assert chats[office]["bot_status"] == "left"

    # People go on talking; the bot hears none of it.
    said = await client.say(alice, "anyone?", chat_id=office)
    assert said["update_id"] is None
    assert await client.ok("getUpdates") == []
    assert [m["text"] for m in await client.messages(office)] == ["Card", "anyone?"]
    status, answer = await client.post(
        "/sandbox/callbacks", {"chat_id": office, "from_id": alice, "text": "Take"}
    )
    assert (status, answer) == (
        400,
        {"error": f"the bot is not in chat {office} (status: left); a press there reaches no one"},
    )

    # Everything the bot would do there is refused, leaving again too.
    calls: list[tuple[str, dict[str, Any]]] = [
        ("sendMessage", {"text": "still here?"}),
        ("sendChatAction", {"action": "typing"}),
        ("editMessageText", {"message_id": card["message_id"], "text": "Edited"}),
        ("deleteMessage", {"message_id": card["message_id"]}),
        ("getChat", {}),
        ("leaveChat", {}),
    ]
    for method, params in calls:
        assert await client.error(method, chat_id=office, **params) == (403, NOT_IN_SUPERGROUP)
    assert [m["text"] for m in await client.messages(office)] == ["Card", "anyone?"]


async def test_a_basic_group_says_group_and_a_removed_bot_was_kicked(client: Client) -> None:
    alice = await client.user("Alice")
    small = await client.group({alice: "creator"}, type="group", title="Small")
    big = await client.group({alice: "creator"}, title="Big")
    assert await client.ok("leaveChat", chat_id=small) is True
    assert await client.error("sendMessage", chat_id=small, text="x") == (403, NOT_IN_GROUP)
    removed = await client.control(
        f"/sandbox/chats/{big}/bot", {"from_id": alice, "status": "kicked"}
    )
    assert removed["status"] == "kicked"
    assert await client.error("sendMessage", chat_id=big, text="x") == (
        403,
        "Forbidden: bot was kicked from the supergroup chat",
    )
    updates = await _updates(client)
    assert [
        (u["my_chat_member"]["chat"]["id"], u["my_chat_member"]["from"]["id"]) for u in updates
    ] == [(small, BOT_ID), (big, alice)]
    assert updates[1]["update_id"] == removed["update_id"]


async def test_the_bot_can_be_added_back_and_hears_the_group_again(client: Client) -> None:
    alice = await client.user("Alice")
    office = await client.group({alice: "creator"}, bot_status="left")
    assert (await client.say(alice, "before", chat_id=office))["update_id"] is None
    assert await client.ok("getUpdates") == []
    added = await client.control(
        f"/sandbox/chats/{office}/bot", {"from_id": alice, "status": "administrator"}
    )
    assert added == {"chat_id": office, "status": "administrator", "update_id": added["update_id"]}
    again = await client.control(
        f"/sandbox/chats/{office}/bot", {"from_id": alice, "status": "administrator"}
    )
    assert again["update_id"] is None  # no change, no update
    said = await client.say(alice, "after", chat_id=office)
    updates = await _updates(client)
    assert [u["update_id"] for u in updates] == [added["update_id"], said["update_id"]]
    assert updates[0]["my_chat_member"]["new_chat_member"]["status"] == "administrator"
    await client.ok("sendMessage", chat_id=office, text="Hello again")


async def test_leave_chat_refuses_a_private_chat_and_an_unknown_one(client: Client) -> None:
    alice = await client.user("Alice")
    assert await client.error("leaveChat", chat_id=alice) == (
        400,
        "Bad Request: chat member status can't be changed in private chats",
    )
    assert await client.error("leaveChat", chat_id=-4242) == (400, "Bad Request: chat not found")


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        (
            "/sandbox/chats",
            {"type": "group", "title": "T", "bot_status": "owner"},
            "\"bot_status\" must be one of administrator, member, left, kicked, not 'owner'",
        ),
        (
            "/sandbox/chats",
            {"type": "group", "title": "T", "added_by": 1001},
            '"added_by" 1001 must be a present member of the new group',
        ),
        (
            "/sandbox/chats",
            {
                "type": "group",
                "title": "T",
                "members": [{"user_id": 1000, "status": "creator"}],
                "added_by": 1000,
                "bot_status": "left",
            },
            "a bot added by someone is a member or administrator, not 'left'",
        ),
        (
            "/sandbox/chats/-1/bot",
            {"from_id": 1000, "status": "creator"},
            "\"status\" must be one of administrator, member, left, kicked, not 'creator'",
        ),
        (
            "/sandbox/chats/-1/bot",
            {"from_id": 1001, "status": "left"},
            "user 1001 is not a member of chat -1 (status: left); add them with POST "
            "/sandbox/chats/-1/members",
        ),
        (
            "/sandbox/chats/1000/bot",
            {"from_id": 1000, "status": "left"},
            "chat 1000 is a private chat; block the bot instead",
        ),
    ],
)
async def test_the_bot_status_control_says_what_is_wrong(
    client: Client, path: str, body: dict[str, Any], error: str
) -> None:
    await client.user("Alice")  # 1000
    await client.user("Bob")  # 1001
    await client.group({1000: "member"}, id=-1, type="group")
    assert await client.post(path, body) == (400, {"error": error})


async def test_the_bot_status_is_kept_with_the_world() -> None:
    world = World(SandboxConfig())
    world.add_group(-5, "supergroup", "Gone", {}, bot_status="left")
    saved = snapshot(world, {})
    again = World(SandboxConfig())
    restore(again, json.dumps(saved).encode())
    assert again.chats[-5].bot_status == "left"
    assert not again.bot_in(again.chats[-5])
