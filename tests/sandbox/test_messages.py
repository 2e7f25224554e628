"""Sending, editing and deleting messages, and every refusal Telegram would answer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import Client

INLINE = {"inline_keyboard": [[{"text": "Approve", "callback_data": "ok:1"}]]}
NOT_MODIFIED = (
    400,
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message",
)


async def test_a_sent_message_is_answered_and_kept_in_the_chat(client: Client) -> None:
    alice = await client.user("Alice")
    sent = await client.ok(
        "sendMessage",
        chat_id=alice,
        text="<b>Filed</b> &amp; <i>noted</i>",
        parse_mode="HTML",
        reply_markup=INLINE,
        link_preview_options={"is_disabled": True},
        disable_notification=True,
        protect_content=True,
    )
    assert sent["text"] == "Filed & noted"
    assert sent["from"]["is_bot"] is True
    assert sent["chat"]["id"] == alice
    assert sent["reply_markup"] == INLINE
    (shown,) = await client.messages(alice)
    assert shown["from_bot"] is True
    assert (shown["text"], shown["html"]) == ("Filed & noted", "<b>Filed</b> &amp; <i>noted</i>")
    assert (shown["edited"], shown["deleted"]) == (False, False)


async def test_reply_keyboards_are_remembered_per_chat(client: Client) -> None:
    alice = await client.user()
    menu = {
        "keyboard": [[{"text": "New suggestion"}, {"text": "My suggestions"}], ["Help"]],
        "resize_keyboard": True,
        "is_persistent": True,
    }
    sent = await client.ok("sendMessage", chat_id=alice, text="Menu", reply_markup=menu)
    assert "reply_markup" not in sent  # Telegram shows only inline keyboards on a message
    chats = (await client.get("/sandbox/chats"))[1]["chats"]
    assert [c["keyboard"] for c in chats if c["id"] == alice] == [menu]
    assert (await client.messages(alice))[0]["reply_markup"] == menu
    await client.ok(
        "sendMessage",
        chat_id=alice,
        text="Type it",
        reply_markup={"force_reply": True, "input_field_placeholder": "…"},
    )
    await client.ok(
        "sendMessage", chat_id=alice, text="Bye", reply_markup={"remove_keyboard": True}
    )
    chats = (await client.get("/sandbox/chats"))[1]["chats"]
    assert [c["keyboard"] for c in chats if c["id"] == alice] == [None]


async def test_replies_by_reply_parameters_or_the_legacy_field(client: Client) -> None:
    alice = await client.user()
    asked = (await client.say(alice, "My question"))["message"]
    one = await client.ok(
        "sendMessage",
        chat_id=alice,
        text="Answer",
        reply_parameters={"message_id": asked["message_id"]},
    )
    assert one["reply_to_message"]["text"] == "My question"
    two = await client.ok(
        "sendMessage", chat_id=alice, text="Again", reply_to_message_id=asked["message_id"]
    )
    assert two["reply_to_message"]["message_id"] == asked["message_id"]
    assert await client.error(
        "sendMessage", chat_id=alice, text="x", reply_parameters={"message_id": 999}
    ) == (
        400,
        "Bad Request: message to be replied not found",
    )
    lenient = await client.ok(
        "sendMessage",
        chat_id=alice,
        text="x",
        reply_parameters={"message_id": 999, "allow_sending_without_reply": True},
    )
    assert "reply_to_message" not in lenient


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "   \n "}, "Bad Request: message text is empty"),
        ({"text": "<b></b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "😀" * 2049}, "Bad Request: message is too long"),  # 4098 UTF-16 units
        (
            {"text": "<b>fish & chips</b>", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Character '&' at byte offset 8 must be escaped "
            "as &amp;",
        ),
        (
            {"text": "<b>x</i>", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected "
            '"</b>", found "</i>"',
        ),
        (
            {"text": "<b>x", "parse_mode": "html"},
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            '"b"',
        ),
        (
            {"text": "<p>x</p>", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported start tag "p" at byte offset 0',
        ),
        (
            {"text": "x &nbsp; y", "parse_mode": "HTML"},
            'Bad Request: can\'t parse entities: Unsupported HTML entity "&nbsp;" at byte offset 2',
        ),
        ({"text": "x", "parse_mode": "BBCode"}, "Bad Request: unsupported parse_mode"),
        (
            {
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "d" * 65}]]},
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "中" * 22}]]},
            },
            "Bad Request: BUTTON_DATA_INVALID",
        ),  # 66 bytes in UTF-8
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "A"}]]}},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        ),
        (
            {
                "text": "x",
                "reply_markup": {
                    "inline_keyboard": [
                        [{"text": "A", "callback_data": "a", "url": "https://x.org"}]
                    ]
                },
            },
            "Bad Request: can't parse inline keyboard button: exactly one of url, callback_data, "
            "web_app, login_url, switch_inline_query, switch_inline_query_current_chat, "
            "switch_inline_query_chosen_chat, copy_text, callback_game, pay must be used, found "
            "url, callback_data",
        ),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "A", "url": "x.org"}]]}},
            "Bad Request: inline keyboard button URL 'x.org' is invalid: Wrong HTTP URL",
        ),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [{"text": "A"}]}},
            'Bad Request: can\'t parse inline_keyboard: field "inline_keyboard" must be an Array '
            "of Arrays",
        ),
        (
            {"text": "x", "reply_markup": {"nonsense": 1}},
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
    ],
)
async def test_what_telegram_refuses_to_send(
    client: Client, params: dict[str, Any], description: str
) -> None:
    alice = await client.user()
    assert await client.error("sendMessage", chat_id=alice, **params) == (400, description)
    assert await client.messages(alice) == []


async def test_limits_are_counted_after_html_is_parsed_and_in_utf16(client: Client) -> None:
    alice = await client.user()
    await client.ok(
        "sendMessage", chat_id=alice, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML"
    )
    await client.ok("sendMessage", chat_id=alice, text="中" * 4096)
    await client.ok("sendMessage", chat_id=alice, text="😀" * 2048)
    data = {"inline_keyboard": [[{"text": "A", "callback_data": "d" * 64}]]}
    await client.ok("sendMessage", chat_id=alice, text="x", reply_markup=data)
    assert len(await client.messages(alice)) == 4


async def test_unknown_chats_and_blocked_people_refuse_messages(client: Client) -> None:
    alice = await client.user()
    assert await client.error("sendMessage", chat_id=424242, text="x") == (
        400,
        "Bad Request: chat not found",
    )
    assert await client.error("sendMessage", chat_id="@nobody", text="x") == (
        400,
        "Bad Request: chat not found",
    )
    await client.control("/sandbox/block", {"user_id": alice, "blocked": True})
    assert await client.error("sendMessage", chat_id=alice, text="x") == (
        403,
        "Forbidden: bot was blocked by the user",
    )
    await client.control("/sandbox/block", {"user_id": alice, "blocked": False})
    await client.ok("sendMessage", chat_id=alice, text="back")
    assert [m["text"] for m in await client.messages(alice)] == ["back"]


async def test_editing_text_changes_it_and_refuses_no_change(client: Client) -> None:
    alice = await client.user()
    card = await client.ok(
        "sendMessage", chat_id=alice, text="<b>Item</b> new", parse_mode="HTML", reply_markup=INLINE
    )
    mid = card["message_id"]
    same = {"chat_id": alice, "message_id": mid, "parse_mode": "HTML"}
    assert (
        await client.error("editMessageText", text="<b>Item</b> new", reply_markup=INLINE, **same)
        == NOT_MODIFIED
    )
    # The same words with another formatting is a change, as in Telegram.
    edited = await client.ok("editMessageText", text="Item new", reply_markup=INLINE, **same)
    assert edited["text"] == "Item new"
    assert "edit_date" in edited
    # An edit that omits the keyboard removes it.
    bare = await client.ok("editMessageText", text="Item taken", **same)
    assert "reply_markup" not in bare
    (shown,) = await client.messages(alice)
    assert (shown["text"], shown["edited"], shown["reply_markup"]) == ("Item taken", True, None)
    assert await client.error("editMessageText", text="Item taken", **same) == NOT_MODIFIED


async def test_editing_only_the_keyboard(client: Client) -> None:
    alice = await client.user()
    mid = (await client.ok("sendMessage", chat_id=alice, text="Card", reply_markup=INLINE))[
        "message_id"
    ]
    other = {"inline_keyboard": [[{"text": "Undo", "callback_data": "undo:1"}]]}
    where = {"chat_id": alice, "message_id": mid}
    assert await client.error("editMessageReplyMarkup", reply_markup=INLINE, **where) == (
        NOT_MODIFIED
    )
    assert (await client.ok("editMessageReplyMarkup", reply_markup=other, **where))[
        "reply_markup"
    ] == other
    removed = await client.ok("editMessageReplyMarkup", **where)
    assert "reply_markup" not in removed
    assert await client.error("editMessageReplyMarkup", **where) == NOT_MODIFIED
    assert await client.error(
        "editMessageReplyMarkup", reply_markup={"remove_keyboard": True}, **where
    ) == (400, "Bad Request: inline keyboard expected")


async def test_editing_what_cannot_be_edited(client: Client) -> None:
    alice = await client.user()
    theirs = (await client.say(alice, "mine"))["message"]["message_id"]
    photo = await client.control("/sandbox/messages", {"from_id": alice, "photo": True})
    file_id = photo["message"]["photo"][-1]["file_id"]
    pic = await client.ok("sendPhoto", chat_id=alice, photo=file_id, caption="old")
    text = await client.ok("sendMessage", chat_id=alice, text="t")
    cases = [
        (
            "editMessageText",
            {"message_id": 9999, "text": "x"},
            "Bad Request: message to edit not found",
        ),
        (
            "editMessageText",
            {"message_id": theirs, "text": "x"},
            "Bad Request: message can't be edited",
        ),
        (
            "editMessageText",
            {"message_id": pic["message_id"], "text": "x"},
            "Bad Request: there is no text in the message to edit",
        ),
        (
            "editMessageCaption",
            {"message_id": text["message_id"], "caption": "x"},
            "Bad Request: there is no caption in the message to edit",
        ),
        (
            "editMessageCaption",
            {"message_id": pic["message_id"], "caption": "old"},
            NOT_MODIFIED[1],
        ),
        (
            "editMessageCaption",
            {"message_id": pic["message_id"], "caption": "c" * 1025},
            "Bad Request: message caption is too long",
        ),
        ("editMessageText", {"text": "x"}, "Bad Request: message identifier is not specified"),
    ]
    for method, params, description in cases:
        assert await client.error(method, chat_id=alice, **params) == (400, description), method
    edited = await client.ok(
        "editMessageCaption",
        chat_id=alice,
        message_id=pic["message_id"],
        caption="<i>new</i>",
        parse_mode="HTML",
    )
    assert edited["caption"] == "new"
    assert edited["caption_entities"] == [{"type": "italic", "offset": 0, "length": 3}]


async def test_deleted_messages_stay_in_the_history_marked(client: Client) -> None:
    alice = await client.user()
    theirs = (await client.say(alice, "oops"))["message"]["message_id"]
    ours = (await client.ok("sendMessage", chat_id=alice, text="prompt"))["message_id"]
    assert await client.ok("deleteMessage", chat_id=alice, message_id=ours) is True
    assert await client.ok("deleteMessage", chat_id=alice, message_id=theirs) is True
    assert await client.error("deleteMessage", chat_id=alice, message_id=ours) == (
        400,
        "Bad Request: message to delete not found",
    )
    assert await client.error("editMessageText", chat_id=alice, message_id=ours, text="y") == (
        400,
        "Bad Request: message to edit not found",
    )
    assert [(m["text"], m["deleted"]) for m in await client.messages(alice)] == [
        ("oops", True),
        ("prompt", True),
    ]


async def test_copying_a_message(client: Client) -> None:
    alice = await client.user("Alice")
    bob = await client.user("Bob")
    office = await client.group({bob: "administrator"})
    original = (await client.say(alice, "Fix <the> road & path"))["message"]["message_id"]
    copied = await client.ok(
        "copyMessage", chat_id=office, from_chat_id=alice, message_id=original, reply_markup=INLINE
    )
    (shown,) = await client.messages(office)
    assert shown["message_id"] == copied["message_id"]
    assert (shown["text"], shown["html"], shown["from_bot"], shown["reply_markup"]) == (
        "Fix <the> road & path",
        "Fix &lt;the&gt; road &amp; path",
        True,
        INLINE,
    )
    photo = await client.control("/sandbox/messages", {"from_id": alice, "photo": True})
    recaptioned = await client.ok(
        "copyMessage",
        chat_id=office,
        from_chat_id=alice,
        message_id=photo["message"]["message_id"],
        caption="<b>From Alice</b>",
        parse_mode="HTML",
    )
    last = (await client.messages(office))[-1]
    assert last["message_id"] == recaptioned["message_id"]
    assert last["photo"] == photo["message"]["photo"]
    assert (last["caption"], last["html"]) == ("From Alice", "<b>From Alice</b>")
    assert await client.error(
        "copyMessage", chat_id=office, from_chat_id=alice, message_id=999
    ) == (400, "Bad Request: message to copy not found")


async def test_group_messages_and_mentions_of_the_bot(client: Client) -> None:
    alice = await client.user("Alice")
    office = await client.group({alice: "administrator"})
    said = await client.say(alice, "/queue@outpost_bot", chat_id=office)
    message = said["message"]
    assert message["chat"] == {"id": office, "type": "supergroup", "title": "Office"}
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 18}]
    answer = await client.ok(
        "sendMessage",
        chat_id=office,
        text="Queue is empty",
        reply_parameters={"message_id": message["message_id"]},
    )
    assert answer["reply_to_message"]["from"]["id"] == alice


async def test_a_mention_carries_the_whole_user_or_stays_plain(client: Client) -> None:
    alice = await client.user("Alice")
    sent = await client.ok(
        "sendMessage",
        chat_id=alice,
        text=f'<a href="tg://user?id={alice}">Alice</a> and <a href="tg://user?id=99">Bob</a>',
        parse_mode="HTML",
    )
    # Clients parse the entity's user as a User, which needs more than the id.
    assert sent["entities"] == [
        {
            "type": "text_mention",
            "offset": 0,
            "length": 5,
            "user": {"id": alice, "is_bot": False, "first_name": "Alice"},
        }
    ]
    assert sent["text"] == "Alice and Bob"
