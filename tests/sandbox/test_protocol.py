"""The Bot API's envelope: tokens, method names, the three body encodings, chats, commands."""

from __future__ import annotations

import json

from tests.sandbox.conftest import BOT_ID, TOKEN, Client


async def test_get_me_answers_for_the_token_in_any_case_and_verb(client: Client) -> None:
    me = await client.ok("getMe")
    assert me["id"] == BOT_ID
    assert me["is_bot"] is True
    assert me["username"] == "outpost_bot"
    async with client.http.get(f"{client.url}/bot{TOKEN}/GETME") as resp:
        assert resp.status == 200
        assert (await resp.json())["result"] == me
    other = await client.api("getme", token="7:abcdefghijklmnopqrstuvwxyz")
    assert other[1]["result"]["id"] == 7


async def test_a_bad_token_is_unauthorized_and_an_unknown_method_not_found(
    client: Client,
) -> None:
    for token in ("nonsense", "42:short", "abc:abcdefghijklmnopqrstuvwxyz"):
        status, answer = await client.api("getMe", token=token)
        assert (status, answer) == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )
    assert await client.error("sendTelepathy") == (404, "Not Found")
    logged = await client.requests()
    assert [(r["method"], r["status"]) for r in logged][-2:] == [
        ("getMe", 401),
        ("sendTelepathy", 404),
    ]


async def test_json_form_multipart_and_query_bodies_mean_the_same(client: Client) -> None:
    alice = await client.user()
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    await client.ok(
        "sendMessage", chat_id=alice, text="<b>json</b>", parse_mode="HTML", reply_markup=markup
    )
    status, _ = await client.form(
        "sendMessage", chat_id=alice, text="<b>form</b>", parse_mode="HTML", reply_markup=markup
    )
    assert status == 200
    status, _ = await client.multipart(
        "sendMessage",
        {},
        chat_id=str(alice),
        text="<b>multi</b>",
        parse_mode="HTML",
        reply_markup=markup,
    )
    assert status == 200
    query = f"chat_id={alice}&text=query&reply_markup=" + json.dumps(markup)
    async with client.http.get(f"{client.url}/bot{TOKEN}/sendMessage?{query}") as resp:
        assert resp.status == 200
    shown = await client.messages(alice)
    assert [(m["text"], m["html"], m["reply_markup"]) for m in shown] == [
        ("json", "<b>json</b>", markup),
        ("form", "<b>form</b>", markup),
        ("multi", "<b>multi</b>", markup),
        ("query", "query", markup),
    ]
    assert shown[1]["entities"] == [{"type": "bold", "offset": 0, "length": 4}]


async def test_a_body_that_is_not_json_is_refused(client: Client) -> None:
    async with client.http.post(
        f"{client.url}/bot{TOKEN}/sendMessage",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["description"] == "Bad Request: can't parse JSON request body"


async def test_chats_members_and_administrators(client: Client) -> None:
    alice = await client.user("Alice", username="alice_w", last_name="Wang")
    bob = await client.user("Bob")
    carol = await client.user("Carol")
    office = await client.group({alice: "creator", bob: "administrator", carol: "member"})
    await client.ok("getMe")
    private = await client.ok("getChat", chat_id=alice)
    assert private["type"] == "private"
    assert (private["first_name"], private["last_name"], private["username"]) == (
        "Alice",
        "Wang",
        "alice_w",
    )
    assert (await client.ok("getChat", chat_id="@alice_w"))["id"] == alice
    group = await client.ok("getChat", chat_id=office)
    assert (group["type"], group["title"]) == ("supergroup", "Office")
    statuses = {
        user: (await client.ok("getChatMember", chat_id=office, user_id=user))["status"]
        for user in (alice, bob, carol, BOT_ID)
    }
    assert statuses == {
        alice: "creator",
        bob: "administrator",
        carol: "member",
        BOT_ID: "administrator",
    }
    admin = await client.ok("getChatMember", chat_id=office, user_id=bob)
    assert admin["can_delete_messages"] is True
    assert admin["user"]["first_name"] == "Bob"
    admins = await client.ok("getChatAdministrators", chat_id=office)
    assert [a["user"]["id"] for a in admins] == [alice, bob, BOT_ID]
    assert await client.ok("getChatMemberCount", chat_id=office) == 4
    await client.control(f"/sandbox/chats/{office}/members", {"user_id": carol, "status": "left"})
    assert (await client.ok("getChatMember", chat_id=office, user_id=carol))["status"] == "left"
    dave = await client.user("Dave")  # exists, never joined
    assert (await client.ok("getChatMember", chat_id=office, user_id=dave))["status"] == "left"
    assert await client.error("getChatMember", chat_id=office, user_id=999999) == (
        400,
        "Bad Request: user not found",
    )
    assert await client.error("getChat", chat_id=-5) == (400, "Bad Request: chat not found")
    assert await client.error("getChatAdministrators", chat_id=alice) == (
        400,
        "Bad Request: there are no administrators in the private chat",
    )


async def test_chat_actions(client: Client) -> None:
    alice = await client.user()
    assert await client.ok("sendChatAction", chat_id=alice, action="typing") is True
    assert await client.error("sendChatAction", chat_id=alice, action="dancing") == (
        400,
        "Bad Request: wrong parameter action in request",
    )
    await client.control("/sandbox/block", {"user_id": alice, "blocked": True})
    assert await client.error("sendChatAction", chat_id=alice, action="typing") == (
        403,
        "Forbidden: bot was blocked by the user",
    )


async def test_commands_are_kept_per_scope_and_language(client: Client) -> None:
    alice = await client.user()
    default = [{"command": "start", "description": "Start"}]
    group = [{"command": "queue", "description": "Awaiting decision"}]
    assert await client.ok("setMyCommands", commands=default) is True
    assert (
        await client.ok(
            "setMyCommands", commands=group, language_code="zh", scope={"type": "all_group_chats"}
        )
        is True
    )
    status, _ = await client.form(
        "setMyCommands", commands=default, scope={"type": "chat", "chat_id": alice}
    )
    assert status == 200
    assert await client.ok("getMyCommands") == default
    assert await client.ok("getMyCommands", scope={"type": "all_group_chats"}) == []
    assert (
        await client.ok("getMyCommands", scope={"type": "all_group_chats"}, language_code="zh")
        == group
    )
    assert await client.ok("getMyCommands", scope={"type": "chat", "chat_id": alice}) == default
    assert await client.ok("deleteMyCommands") is True
    assert await client.ok("getMyCommands") == []
    assert await client.error(
        "setMyCommands", commands=[{"command": "Bad Name!", "description": "x"}]
    ) == (
        400,
        "Bad Request: BOT_COMMAND_INVALID",
    )
    assert (await client.error("setMyCommands", commands=[{"command": "ok", "description": ""}]))[
        0
    ] == 400
    assert await client.error("getMyCommands", scope={"type": "everyone"}) == (
        400,
        "Bad Request: can't parse BotCommandScope JSON object",
    )
    (bot,) = [(await client.get("/sandbox/bot"))[1]]
    assert {c["language_code"] for c in bot["commands"]} == {"zh", ""}
