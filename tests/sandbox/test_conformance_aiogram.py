"""The sandbox against aiogram: an aiogram ``Bot`` calls every method the sandbox
supports and parses every answer into aiogram's types, as it would Telegram's.

A session middleware checks each parsed answer for fields aiogram does not know (its
models keep those as "extra"): a misspelt or invented field in the sandbox's JSON fails
the call that received it. What aiogram sent is read back from the sandbox's request
log, and what the chats show from the control API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    MessageId,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)
from pydantic import BaseModel

from tests.sandbox.conformance import (
    BLOCKED,
    BOT_ID,
    BOT_USERNAME,
    BUTTON_DATA_INVALID,
    CANT_PARSE,
    CAPTION_TOO_LONG,
    CHAT_NOT_FOUND,
    NO_MESSAGE_TO_EDIT,
    NOT_A_MEMBER,
    NOT_MODIFIED,
    OTHER_PHOTO,
    PDF,
    PHOTO,
    PRIVATE_LEAVE,
    QUERY_TOO_OLD,
    TEXT_TOO_LONG,
    TOKEN,
    WEBHOOK_ACTIVE,
    Stage,
    attached,
    b64,
    failed_push,
    open_stage,
    refusing_url,
    uploaded,
)
from tests.sandbox.conftest import eventually


def unknown_fields(value: Any, path: str = "result") -> list[str]:
    """Where a parsed answer holds fields aiogram's models do not declare."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        found += [f"{path}.{name}" for name in value.model_extra or {}]
        for name in type(value).model_fields:
            found += unknown_fields(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += unknown_fields(item, f"{path}[{i}]")
    return found


async def only_known_fields(
    make_request: NextRequestMiddlewareType[Any],
    bot: Bot,
    method: TelegramMethod[Any],
) -> Any:
    """A session middleware: every answer is checked before the caller sees it."""
    # aiogram's protocol says a middleware gets the Response; at run time the session
    # hands it the parsed result.
    result: Any = await make_request(bot, method)
    unknown = unknown_fields(result)
    assert not unknown, f"{type(method).__name__} answered fields aiogram does not know: {unknown}"
    return result


@pytest.fixture
async def stage() -> AsyncIterator[Stage]:
    async with open_stage() as opened:
        yield opened


@pytest.fixture
async def bot(stage: Stage) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(stage.url))
    session.middleware(only_known_fields)
    bot = Bot(TOKEN, session=session)
    try:
        yield bot
    finally:
        await session.close()


def dumped(value: Any) -> Any:
    """Objects as plain data: a parsed object carries its bot, a built one does not, so
    pydantic's equality tells them apart."""
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    if isinstance(value, list):
        return [dumped(item) for item in value]
    return value


def buttons(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=list(rows))


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def test_an_unknown_field_would_be_caught() -> None:
    """The check the middleware makes can fail: a field aiogram lacks, however deep."""
    parsed = Message.model_validate(
        {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1, "type": "private", "mood": "cheerful"},
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a", "x": 1}]]},
        }
    )
    assert unknown_fields(parsed) == [
        "result.chat.mood",
        "result.reply_markup.inline_keyboard[0][0].x",
    ]


async def test_the_bot_and_its_commands(stage: Stage, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username, me.first_name) == (BOT_ID, True, BOT_USERNAME, "Outpost")

    office = await stage.people.group("Office", {})
    everyone = [
        BotCommand(command="start", description="Begin"),
        BotCommand(command="help", description="What I can do"),
    ]
    chinese = [BotCommand(command="start", description="开始")]
    admins = [BotCommand(command="queue", description="Items awaiting a decision")]
    assert await bot.set_my_commands(everyone) is True
    assert await bot.set_my_commands(chinese, language_code="zh") is True
    assert await bot.set_my_commands(admins, scope=BotCommandScopeChat(chat_id=office)) is True
    assert await stage.people.sent("setMyCommands") == {
        "commands": [{"command": "queue", "description": "Items awaiting a decision"}],
        "scope": {"type": "chat", "chat_id": office},
    }
    assert dumped(await bot.get_my_commands()) == dumped(everyone)
    assert dumped(await bot.get_my_commands(language_code="zh")) == dumped(chinese)
    assert dumped(await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=office))) == dumped(
        admins
    )
    assert await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats()) == []


async def test_a_webhook_is_set_reported_and_deleted(stage: Stage, bot: Bot) -> None:
    alice = await stage.people.user("Alice")
    await stage.people.send(alice, text="waiting for the bot")
    with refusing_url() as hook:
        assert await bot.set_webhook(
            hook, secret_token="s3cret-token", allowed_updates=["message", "callback_query"]
        )
        assert await stage.people.sent("setWebhook") == {
            "url": hook,
            "secret_token": "s3cret-token",
            "allowed_updates": ["message", "callback_query"],
        }
        await eventually(failed_push(stage))
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count, info.allowed_updates) == (
            hook,
            1,
            ["message", "callback_query"],
        )
        assert isinstance(info.last_error_date, datetime)
        assert (info.last_error_message or "").startswith("Connection refused")
        with pytest.raises(TelegramConflictError) as conflict:
            await bot.get_updates()
        assert conflict.value.message == WEBHOOK_ACTIVE
        assert await bot.delete_webhook(drop_pending_updates=True) is True
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count, info.last_error_message) == ("", 0, None)
    assert await bot.get_updates() == []


async def test_updates_bring_what_people_send_and_press(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice", username="alice", language_code="zh-hans")
    bob = await people.user("Bob", last_name="Li")
    office = await people.group("Office", {alice: "creator", bob: "member"})
    card = await bot.send_message(
        office, "WZ-2026-0001 awaits a decision", reply_markup=buttons([button("Take", "take:1")])
    )

    said = await people.send(alice, text="/start WZ-2026-0001")
    replied = await people.send(bob, office, text="Mine", reply_to_message_id=card.message_id)
    photo = await people.send(alice, photo={"base64": b64(PHOTO)}, caption="the pothole")
    document = await people.send(
        alice,
        document={"file_name": "plan.pdf", "mime_type": "application/pdf", "base64": b64(PDF)},
    )
    contact = await people.send(alice, contact={"phone_number": "+8613800000000"})
    location = await people.send(alice, location={"latitude": 30.8, "longitude": 108.4})
    pressed = await people.press(alice, office, text="Take")
    blocked = await people.block(alice)

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [
        said["update_id"],
        replied["update_id"],
        photo["update_id"],
        document["update_id"],
        contact["update_id"],
        location["update_id"],
        pressed["update_id"],
        blocked,
    ]
    start, reply, photo_u, document_u, contact_u, location_u, press_u, block_u = updates

    assert start.message is not None
    assert start.message.text == "/start WZ-2026-0001"
    assert start.message.from_user is not None
    assert (start.message.from_user.username, start.message.from_user.language_code) == (
        "alice",
        "zh-hans",
    )
    assert (start.message.chat.id, start.message.chat.type) == (alice, "private")
    assert [(e.type, e.offset, e.length) for e in start.message.entities or []] == [
        ("bot_command", 0, 6)
    ]

    assert reply.message is not None
    assert (reply.message.chat.id, reply.message.chat.type, reply.message.chat.title) == (
        office,
        "supergroup",
        "Office",
    )
    original = reply.message.reply_to_message
    assert original is not None
    assert original.from_user is not None
    assert (original.message_id, original.from_user.id, original.text) == (
        card.message_id,
        BOT_ID,
        "WZ-2026-0001 awaits a decision",
    )

    assert photo_u.message is not None
    (size,) = photo_u.message.photo or []
    assert (size.width, size.height, size.file_size) == (64, 48, len(PHOTO))
    assert photo_u.message.caption == "the pothole"

    assert document_u.message is not None
    sent_document = document_u.message.document
    assert sent_document is not None
    assert (sent_document.file_name, sent_document.mime_type, sent_document.file_size) == (
        "plan.pdf",
        "application/pdf",
        len(PDF),
    )

    assert contact_u.message is not None
    assert contact_u.message.contact is not None
    assert (contact_u.message.contact.phone_number, contact_u.message.contact.first_name) == (
        "+8613800000000",
        "Alice",
    )
    assert location_u.message is not None
    assert location_u.message.location is not None
    assert (location_u.message.location.latitude, location_u.message.location.longitude) == (
        30.8,
        108.4,
    )

    query = press_u.callback_query
    assert query is not None
    assert (query.id, query.data, query.from_user.id) == (
        pressed["callback_query_id"],
        "take:1",
        alice,
    )
    assert isinstance(query.message, Message)
    assert query.message.message_id == card.message_id
    assert dumped(query.message.reply_markup) == dumped(card.reply_markup)

    change = block_u.my_chat_member
    assert change is not None
    assert (change.chat.id, change.from_user.id) == (alice, alice)
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", "kicked")
    assert change.new_chat_member.user.id == BOT_ID

    # The next offset confirms them all; from now on only messages are wanted.
    next_offset = block_u.update_id + 1
    assert await bot.get_updates(offset=next_offset, timeout=0, allowed_updates=["message"]) == []
    skipped = await people.press(bob, office, text="Take")
    poll = asyncio.create_task(bot.get_updates(offset=next_offset, timeout=10))
    later = await people.send(bob, office, text="Taking it")
    (update,) = await poll
    assert update.update_id == later["update_id"]
    assert update.message is not None
    assert update.message.text == "Taking it"

    assert [r["params"] for r in await people.requests("getUpdates")] == [
        {"timeout": 0},
        {"offset": next_offset, "timeout": 0, "allowed_updates": ["message"]},
        {"offset": next_offset, "timeout": 10},
    ]
    produced = {u["update_id"]: u["skipped"] for u in await people.updates()}
    assert produced[skipped["update_id"]] is True


async def test_messages_with_markup_keyboards_and_replies(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice")
    markup = buttons(
        [
            button("Withdraw", "withdraw:1"),
            InlineKeyboardButton(text="Open", url="https://o.example/1"),
        ]
    )
    card = await bot.send_message(
        alice,
        '<b>WZ-2026-0001</b> filed &amp; <a href="https://o.example/1">noted</a>',
        parse_mode="HTML",
        reply_markup=markup,
    )
    assert card.text == "WZ-2026-0001 filed & noted"
    assert [(e.type, e.offset, e.length, e.url) for e in card.entities or []] == [
        ("bold", 0, 12, None),
        ("text_link", 21, 5, "https://o.example/1"),
    ]
    assert dumped(card.reply_markup) == dumped(markup)
    assert card.from_user is not None
    assert (card.from_user.id, card.chat.id) == (BOT_ID, alice)

    menu = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text="New suggestion"), KeyboardButton(text="My suggestions")],
            [KeyboardButton(text="Share my phone", request_contact=True)],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )
    shown = await bot.send_message(alice, "Menu", reply_markup=menu)
    asked = await bot.send_message(
        alice, "Title?", reply_markup=ForceReply(force_reply=True, input_field_placeholder="Short")
    )
    said = await people.send(alice, text="Broken street light")
    said_id = said["message"]["message_id"]
    answer = await bot.send_message(
        alice,
        "Got it",
        reply_parameters=ReplyParameters(message_id=said_id),
        reply_markup=ReplyKeyboardRemove(remove_keyboard=True),
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.from_user is not None
    assert (answer.reply_to_message.text, answer.reply_to_message.from_user.id) == (
        "Broken street light",
        alice,
    )
    # Telegram shows only inline keyboards in the Message it returns.
    assert (shown.reply_markup, asked.reply_markup, answer.reply_markup) == (None, None, None)

    logged = [r["params"] for r in await people.requests("sendMessage")]
    assert logged[1:] == [
        {
            "chat_id": alice,
            "text": "Menu",
            "reply_markup": {
                "keyboard": [
                    [{"text": "New suggestion"}, {"text": "My suggestions"}],
                    [{"text": "Share my phone", "request_contact": True}],
                ],
                "is_persistent": True,
                "resize_keyboard": True,
            },
        },
        {
            "chat_id": alice,
            "text": "Title?",
            "reply_markup": {"force_reply": True, "input_field_placeholder": "Short"},
        },
        {
            "chat_id": alice,
            "text": "Got it",
            "reply_parameters": {"message_id": said_id},
            "reply_markup": {"remove_keyboard": True},
        },
    ]
    assert logged[0]["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Withdraw", "callback_data": "withdraw:1"},
                {"text": "Open", "url": "https://o.example/1"},
            ]
        ]
    }

    chat = await people.messages(alice)
    assert [(m["from_bot"], m["text"], m["reply_markup"]) for m in chat] == [
        (True, "WZ-2026-0001 filed & noted", logged[0]["reply_markup"]),
        (True, "Menu", logged[1]["reply_markup"]),
        (True, "Title?", logged[2]["reply_markup"]),
        (False, "Broken street light", None),
        (True, "Got it", {"remove_keyboard": True}),
    ]
    assert (
        chat[0]["html"] == '<b>WZ-2026-0001</b> filed &amp; <a href="https://o.example/1">noted</a>'
    )
    assert chat[4]["reply_to_message"]["message_id"] == said_id


async def test_entity_offsets_count_utf16_as_telegrams_do(stage: Stage, bot: Bot) -> None:
    """The client rebuilds the HTML from the entities alone: only right UTF-16 offsets
    (an emoji counts two, a Chinese character one) give back what was sent."""
    alice = await stage.people.user("Alice")
    sent = "😀 <b>法治</b> 观察员 <i>WZ-2026-0001</i> 🏛️ <u>&lt;ok&gt;</u> <code>a&amp;b</code>"
    message = await bot.send_message(alice, sent, parse_mode="HTML")
    assert message.text == "😀 法治 观察员 WZ-2026-0001 🏛️ <ok> a&b"
    assert message.html_text == sent


async def test_the_defaults_outpost_sets_are_accepted_everywhere(stage: Stage) -> None:
    """Outpost's bot (bot/dispatcher.py) sends parse_mode=HTML and a disabled link
    preview with every call that takes them, files without a caption included."""
    people = stage.people
    alice = await people.user("Alice")
    said = await people.send(alice, text="a < b & c")
    session = AiohttpSession(api=TelegramAPIServer.from_base(stage.url))
    session.middleware(only_known_fields)
    outpost = Bot(
        TOKEN,
        session=session,
        default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True),
    )
    try:
        text = await outpost.send_message(alice, "<b>Filed</b> https://o.example/1")
        photo = await outpost.send_photo(alice, BufferedInputFile(PHOTO, "p.png"))
        assert photo.photo is not None
        await outpost.send_media_group(
            alice,
            [
                InputMediaPhoto(media=photo.photo[0].file_id),
                InputMediaPhoto(media=BufferedInputFile(OTHER_PHOTO, "q.png")),
            ],
        )
        await outpost.copy_message(
            alice, from_chat_id=alice, message_id=said["message"]["message_id"]
        )
        await outpost.edit_message_text("<i>Filed</i>", chat_id=alice, message_id=text.message_id)
    finally:
        await session.close()

    logged = await people.requests()
    assert [(r["method"], r["status"], r["params"].get("parse_mode")) for r in logged] == [
        ("sendMessage", 200, "HTML"),
        ("sendPhoto", 200, "HTML"),
        ("sendMediaGroup", 200, None),
        ("copyMessage", 200, "HTML"),
        ("editMessageText", 200, "HTML"),
    ]
    assert [item["parse_mode"] for item in logged[2]["params"]["media"]] == ["HTML", "HTML"]
    assert logged[0]["params"]["link_preview_options"] == {"is_disabled": True}
    shown = await people.messages(alice)
    assert [(m["from_bot"], m["text"]) for m in shown] == [
        (False, "a < b & c"),
        (True, "Filed"),
        (True, None),
        (True, None),
        (True, None),
        (True, "a < b & c"),
    ]


async def test_edits_deletes_answers_and_chat_actions(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice")
    card = await bot.send_message(
        alice,
        "<b>WZ-1</b> submitted",
        parse_mode="HTML",
        reply_markup=buttons([button("Take", "take:1")]),
    )
    pressed = await people.press(alice, text="Take")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    assert await bot.answer_callback_query(update.callback_query.id, text="Taken", show_alert=True)
    answered = await people.callback_answer(pressed["callback_query_id"])
    assert {key: answered[key] for key in ("answered", "text", "show_alert", "url")} == {
        "answered": True,
        "text": "Taken",
        "show_alert": True,
        "url": None,
    }
    assert (answered["state"], answered["delay"]) == ("answered", 0.0)  # the clock stood still

    decide = buttons([button("Adopt", "adopt:1"), button("Decline", "decline:1")])
    edited = await bot.edit_message_text(
        "<b>WZ-1</b> in review",
        chat_id=alice,
        message_id=card.message_id,
        parse_mode="HTML",
        reply_markup=decide,
    )
    assert isinstance(edited, Message)
    assert (edited.text, dumped(edited.reply_markup)) == ("WZ-1 in review", dumped(decide))
    assert edited.edit_date is not None
    assert await people.sent("editMessageText") == {
        "chat_id": alice,
        "message_id": card.message_id,
        "text": "<b>WZ-1</b> in review",
        "parse_mode": "HTML",
        "reply_markup": {
            "inline_keyboard": [
                [
                    {"text": "Adopt", "callback_data": "adopt:1"},
                    {"text": "Decline", "callback_data": "decline:1"},
                ]
            ]
        },
    }
    final = buttons([button("Reopen", "reopen:1")])
    rekeyed = await bot.edit_message_reply_markup(
        chat_id=alice, message_id=card.message_id, reply_markup=final
    )
    assert isinstance(rekeyed, Message)
    assert dumped(rekeyed.reply_markup) == dumped(final)

    draft = await bot.send_message(alice, "Draft saved")
    assert await bot.delete_message(alice, draft.message_id) is True
    assert await bot.send_chat_action(alice, "typing") is True
    assert await people.sent("sendChatAction") == {"chat_id": alice, "action": "typing"}

    shown = await people.messages(alice)
    assert [(m["text"], m["html"], m["edited"], m["deleted"]) for m in shown] == [
        ("WZ-1 in review", "<b>WZ-1</b> in review", True, False),
        ("Draft saved", "Draft saved", False, True),
    ]
    assert shown[0]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Reopen", "callback_data": "reopen:1"}]]
    }


async def test_photos_documents_albums_copies_and_downloads(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice")
    office = await people.group("Office", {alice: "member"})

    photo = await bot.send_photo(
        alice,
        BufferedInputFile(PHOTO, "pothole.png"),
        caption="<i>the pothole</i>",
        parse_mode="HTML",
    )
    (size,) = photo.photo or []
    assert (size.width, size.height, size.file_size) == (64, 48, len(PHOTO))
    assert photo.caption == "the pothole"
    assert [(e.type, e.offset, e.length) for e in photo.caption_entities or []] == [
        ("italic", 0, 11)
    ]
    sent = await people.sent("sendPhoto")
    assert uploaded(sent, "photo") == {"file": "pothole.png", "size": len(PHOTO)}
    assert (sent["chat_id"], sent["caption"], sent["parse_mode"]) == (
        alice,
        "<i>the pothole</i>",
        "HTML",
    )

    again = await bot.send_photo(office, size.file_id)
    assert again.photo is not None
    assert again.photo[0].file_id == size.file_id
    assert await people.sent("sendPhoto") == {"chat_id": office, "photo": size.file_id}

    document = await bot.send_document(
        alice, BufferedInputFile(PDF, "整改计划.pdf"), caption="The plan"
    )
    assert document.document is not None
    assert (
        document.document.file_name,
        document.document.mime_type,
        document.document.file_size,
    ) == (
        "整改计划.pdf",
        "application/pdf",
        len(PDF),
    )
    forwarded = await bot.send_document(office, document.document.file_id)
    assert forwarded.document is not None
    assert forwarded.document.file_unique_id == document.document.file_unique_id
    captioned = await bot.edit_message_caption(
        chat_id=alice,
        message_id=document.message_id,
        caption="The plan, <b>v2</b>",
        parse_mode="HTML",
    )
    assert isinstance(captioned, Message)
    assert captioned.caption == "The plan, v2"

    album = await bot.send_media_group(
        alice,
        [
            InputMediaPhoto(media=BufferedInputFile(PHOTO, "before.png"), caption="before"),
            InputMediaPhoto(media=BufferedInputFile(OTHER_PHOTO, "after.png")),
        ],
    )
    assert [(m.photo[0].width, m.photo[0].height) for m in album if m.photo] == [(64, 48), (32, 20)]
    assert album[0].media_group_id is not None
    assert album[0].media_group_id == album[1].media_group_id
    assert album[0].caption == "before"
    sent = await people.sent("sendMediaGroup")
    assert [attached(sent, item["media"]) for item in sent["media"]] == [
        {"file": "before.png", "size": len(PHOTO)},
        {"file": "after.png", "size": len(OTHER_PHOTO)},
    ]
    assert [item["type"] for item in sent["media"]] == ["photo", "photo"]
    ids = [m.photo[-1].file_id for m in album if m.photo]
    resent = await bot.send_media_group(office, [InputMediaPhoto(media=i) for i in ids])
    assert [m.photo[-1].file_id for m in resent if m.photo] == ids
    assert (await people.sent("sendMediaGroup"))["media"] == [
        {"type": "photo", "media": i} for i in ids
    ]
    papers = await bot.send_media_group(
        office,
        [
            InputMediaDocument(media=document.document.file_id),
            InputMediaDocument(media=BufferedInputFile(b"minutes\n", "minutes.txt")),
        ],
    )
    assert [m.document.file_name for m in papers if m.document] == ["整改计划.pdf", "minutes.txt"]

    said = await people.send(alice, photo={"base64": b64(OTHER_PHOTO)}, caption="from Alice")
    copy = await bot.copy_message(
        office, from_chat_id=alice, message_id=said["message"]["message_id"]
    )
    assert isinstance(copy, MessageId)
    assert await people.sent("copyMessage") == {
        "chat_id": office,
        "from_chat_id": alice,
        "message_id": said["message"]["message_id"],
    }
    copied = (await people.messages(office))[-1]
    assert (copied["message_id"], copied["from_bot"], copied["text"]) == (
        copy.message_id,
        True,
        "from Alice",
    )
    assert copied["photo"] == said["message"]["photo"]

    for file_id, content in (
        (size.file_id, PHOTO),
        (document.document.file_id, PDF),
        (said["message"]["photo"][-1]["file_id"], OTHER_PHOTO),
    ):
        file = await bot.get_file(file_id)
        assert file.file_size == len(content)
        assert file.file_path is not None
        downloaded = await bot.download_file(file.file_path)
        assert downloaded is not None
        assert downloaded.read() == content


async def test_chats_and_their_members(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice", username="alice")
    bob, carol, dave, erin, frank = [
        await people.user(name) for name in ("Bob", "Carol", "Dave", "Erin", "Frank")
    ]
    office = await people.group(
        "Office",
        {
            alice: "creator",
            carol: "administrator",
            bob: "member",
            dave: "restricted",
            erin: "left",
            frank: "kicked",
        },
    )
    group = await bot.get_chat(office)
    assert (group.id, group.type, group.title) == (office, "supergroup", "Office")
    private = await bot.get_chat("@alice")
    assert (private.id, private.type, private.first_name, private.username) == (
        alice,
        "private",
        "Alice",
        "alice",
    )
    assert await people.sent("getChat") == {"chat_id": "@alice"}

    kinds = {
        alice: ChatMemberOwner,
        carol: ChatMemberAdministrator,
        bob: ChatMemberMember,
        dave: ChatMemberRestricted,
        erin: ChatMemberLeft,
        frank: ChatMemberBanned,
        BOT_ID: ChatMemberAdministrator,
    }
    for user_id, kind in kinds.items():
        member = await bot.get_chat_member(office, user_id)
        assert isinstance(member, kind), (user_id, member)
        assert member.user.id == user_id
    admins = await bot.get_chat_administrators(office)
    assert [(type(a), a.user.id) for a in admins] == [
        (ChatMemberOwner, alice),
        (ChatMemberAdministrator, carol),
        (ChatMemberAdministrator, BOT_ID),
    ]
    assert await people.sent("getChatMember") == {"chat_id": office, "user_id": BOT_ID}


async def test_what_telegram_refuses_is_a_bad_request(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice")
    keyboard = buttons([button("Take", "take:1")])
    card = await bot.send_message(alice, "Card", reply_markup=keyboard)
    await people.press(alice, text="Take")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None
    query_id = update.callback_query.id
    assert await bot.answer_callback_query(query_id) is True

    # Each is just past Telegram's limit, counted as Telegram counts: characters, UTF-16
    # code units (an emoji is two), bytes of callback data (a Chinese character is three).
    refusals: list[tuple[str, Callable[[], Awaitable[Any]], str]] = [
        ("sendMessage", lambda: bot.send_message(alice, "x" * 4097), TEXT_TOO_LONG),
        (
            "sendPhoto",
            lambda: bot.send_photo(alice, BufferedInputFile(PHOTO, "p.png"), caption="😀" * 513),
            CAPTION_TOO_LONG,
        ),
        (
            "sendMessage",
            lambda: bot.send_message(
                alice, "Rate", reply_markup=buttons([button("Good", "rate:" + "好" * 20)])
            ),
            BUTTON_DATA_INVALID,
        ),
        (
            "sendMessage",
            lambda: bot.send_message(alice, "<b>unclosed", parse_mode="HTML"),
            CANT_PARSE,
        ),
        (
            "editMessageText",
            lambda: bot.edit_message_text(
                "Card", chat_id=alice, message_id=card.message_id, reply_markup=keyboard
            ),
            NOT_MODIFIED,
        ),
        ("sendMessage", lambda: bot.send_message(-100999, "Anyone?"), CHAT_NOT_FOUND),
        (
            "editMessageText",
            lambda: bot.edit_message_text("Gone", chat_id=alice, message_id=999),
            NO_MESSAGE_TO_EDIT,
        ),
        (
            "answerCallbackQuery",
            lambda: bot.answer_callback_query(query_id, text="again"),
            QUERY_TOO_OLD,
        ),
    ]
    for _, call, description in refusals:
        with pytest.raises(TelegramBadRequest) as refused:
            await call()
        assert refused.value.message.startswith(description), (description, refused.value)
        assert refused.value.message == (await people.requests())[-1]["error"]

    # Nothing refused was performed: the chat still shows only the card, unedited.
    shown = await people.messages(alice)
    assert [(m["text"], m["edited"]) for m in shown] == [("Card", False)]
    refused_calls = (await people.requests())[-len(refusals) :]
    assert [(r["method"], r["status"]) for r in refused_calls] == [
        (method, 400) for method, _, _ in refusals
    ]


async def test_a_user_who_blocked_the_bot_is_forbidden(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice")
    await bot.send_message(alice, "Welcome")
    await people.block(alice)
    with pytest.raises(TelegramForbiddenError) as refused:
        await bot.send_message(alice, "Your item was adopted")
    assert refused.value.message == BLOCKED
    with pytest.raises(TelegramForbiddenError):
        await bot.send_photo(alice, BufferedInputFile(PHOTO, "p.png"))
    await people.block(alice, blocked=False)
    await bot.send_message(alice, "Welcome back")
    assert [m["text"] for m in await people.messages(alice)] == ["Welcome", "Welcome back"]


async def test_flood_limits_answer_retry_after(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice")
    office = await people.group("Office", {alice: "member"})
    await people.limits(enabled=True, private_burst=2, group_per_minute=2)
    for n in (1, 2):
        await bot.send_message(alice, f"private {n}")
        await bot.send_message(office, f"group {n}")
    with pytest.raises(TelegramRetryAfter) as private:
        await bot.send_message(alice, "private 3")
    assert private.value.retry_after == 1
    with pytest.raises(TelegramRetryAfter) as group:
        await bot.send_message(office, "group 3")
    assert group.value.retry_after == 60
    assert "Too Many Requests: retry after 60" in group.value.message

    stage.clock.advance(1)
    await bot.send_message(alice, "private 3")
    stage.clock.advance(59)
    await bot.send_message(office, "group 3")
    assert [m["text"] for m in await people.messages(alice)] == [
        "private 1",
        "private 2",
        "private 3",
    ]
    assert [m["text"] for m in await people.messages(office)] == ["group 1", "group 2", "group 3"]


async def test_injected_faults_reach_the_client_as_telegrams(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice")
    await people.fault(method="sendMessage", status=500)
    with pytest.raises(TelegramServerError) as crashed:
        await bot.send_message(alice, "first try")
    assert crashed.value.message == "Internal Server Error"
    await people.fault(method="sendMessage", status=502, times=1)
    with pytest.raises(TelegramServerError):
        await bot.send_message(alice, "second try")
    await people.fault(method="sendMessage", status=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as flooded:
        await bot.send_message(alice, "third try")
    assert flooded.value.retry_after == 7
    await bot.send_message(alice, "fourth try")
    assert [m["text"] for m in await people.messages(alice)] == ["fourth try"]
    assert [(r["status"], r["error"]) for r in await people.requests("sendMessage")] == [
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (429, "Too Many Requests: retry after 7"),
        (200, None),
    ]


async def test_an_answer_later_than_the_window_is_too_old(stage: Stage, bot: Bot) -> None:
    people = stage.people
    alice = await people.user("Alice")
    await bot.send_message(alice, "Card", reply_markup=buttons([button("Take", "take:1")]))
    late = await people.press(alice, text="Take")
    stage.clock.advance(10.5)
    in_time = await people.press(alice, text="Take")
    stage.clock.advance(10)  # exactly the window: still in time
    with pytest.raises(TelegramBadRequest) as refused:
        await bot.answer_callback_query(late["callback_query_id"], text="Taken")
    assert refused.value.message == QUERY_TOO_OLD
    assert await bot.answer_callback_query(in_time["callback_query_id"], text="Taken") is True

    seen = await people.callbacks()
    by_id = {c["callback_query_id"]: c for c in seen["callbacks"]}
    refused_one, answered_one = (
        by_id[late["callback_query_id"]],
        by_id[in_time["callback_query_id"]],
    )
    assert (refused_one["state"], refused_one["late_attempts"], refused_one["late_delay"]) == (
        "expired",
        1,
        20.5,
    )
    assert (answered_one["state"], answered_one["delay"]) == ("answered", 10.0)
    summary = seen["summary"]
    assert (summary["pressed"], summary["answered"], summary["expired"]) == (2, 1, 1)
    assert (summary["late_attempts"], summary["delay_p99"]) == (1, 10.0)


async def test_the_bot_leaves_a_group_a_stranger_added_it_to(stage: Stage, bot: Bot) -> None:
    people = stage.people
    stranger = await people.user("Stranger")
    theirs = await people.group("Stranger's", {stranger: "creator"}, added_by=stranger)
    await people.send(stranger, theirs, text=f"/help@{BOT_USERNAME}")
    added, command = await bot.get_updates(timeout=0)
    change = added.my_chat_member
    assert change is not None
    assert (change.chat.id, change.chat.type, change.from_user.id) == (
        theirs,
        "supergroup",
        stranger,
    )
    assert isinstance(change.old_chat_member, ChatMemberLeft)
    assert isinstance(change.new_chat_member, ChatMemberMember)
    assert change.new_chat_member.user.id == BOT_ID
    assert command.message is not None
    assert [e.type for e in command.message.entities or []] == ["bot_command"]

    assert await bot.leave_chat(theirs) is True
    assert await people.sent("leaveChat") == {"chat_id": theirs}
    (left,) = await bot.get_updates(offset=command.update_id + 1, timeout=0)
    change = left.my_chat_member
    assert change is not None
    assert (change.chat.id, change.from_user.id) == (theirs, BOT_ID)
    assert isinstance(change.old_chat_member, ChatMemberMember)
    assert isinstance(change.new_chat_member, ChatMemberLeft)

    # The group goes on; the bot hears nothing more of it and may not write there.
    unheard = await people.send(stranger, theirs, text="hello?")
    assert unheard["update_id"] is None
    assert await bot.get_updates(offset=left.update_id + 1, timeout=0) == []
    closed: list[Callable[[], Awaitable[Any]]] = [
        lambda: bot.send_message(theirs, "Hi"),
        lambda: bot.send_chat_action(theirs, "typing"),
        lambda: bot.leave_chat(theirs),
    ]
    for call in closed:
        with pytest.raises(TelegramForbiddenError) as forbidden:
            await call()
        assert forbidden.value.message == NOT_A_MEMBER
    with pytest.raises(TelegramBadRequest) as private:
        await bot.leave_chat(stranger)
    assert private.value.message == PRIVATE_LEAVE
    assert [m["text"] for m in await people.messages(theirs)] == [
        f"/help@{BOT_USERNAME}",
        "hello?",
    ]


async def test_a_timeout_fault_after_the_call_hides_that_it_was_performed(
    stage: Stage, bot: Bot
) -> None:
    people = stage.people
    alice = await people.user("Alice")
    await people.fault(method="sendMessage", timeout="after")
    await people.fault(method="sendMessage", timeout="before")
    for _ in range(2):
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(alice, "Filed")
    await bot.send_message(alice, "Filed")
    # The timeout after the call let one duplicate through; the one before it did not.
    assert [m["text"] for m in await people.messages(alice)] == ["Filed", "Filed"]
    logged = await people.requests("sendMessage")
    assert [(r["status"], r["fault"]) for r in logged] == [
        (200, "timeout_after"),
        (0, "timeout_before"),
        (200, None),
    ]
    faults = await people.faults()
    assert faults["applied"] == {"status": 0, "delay": 0, "timeout_before": 1, "timeout_after": 1}
    assert faults["applied_by_method"] == {"sendMessage": {"timeout_after": 1, "timeout_before": 1}}
