"""The error handler: one log line per failed update, carrying ids and kinds but never
what the person wrote; an apology that cannot be delivered neither escapes nor is
logged as a second failure; and replies reach a chat whose message was deleted."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from aiogram import F, Router
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from sqlalchemy.exc import IntegrityError

from bot.dispatcher import build_bot
from bot.logs import JsonFormatter, TextFormatter
from tests.handlers.conftest import make_settings
from tests.handlers.test_wiring import first
from tests.telegram import Telegram
from tests.world import STRANGER

GROUP = -100500
NINA = 9003
# What a person might well type or be called: none of it belongs in a server's log.
SECRET = "秘密电话13800138000"
PHONE = "13800138000"
NAME = "王秘密"
PRIVATE = (SECRET, PHONE, NAME)
SORRY = "抱歉，处理时出现问题，未作任何更改。请稍后重试。"


def database_error(text: str) -> Exception:
    # As SQLAlchemy raises it: its str() quotes the values bound to the statement.
    return IntegrityError(
        "INSERT INTO drafts (body) VALUES (?)",
        (text,),
        sqlite3.IntegrityError("UNIQUE constraint failed: drafts.body"),
    )


def validation_error(text: str) -> Exception:
    # pydantic's str() repeats the input it refused.
    try:
        Message.model_validate({"text": text})
    except Exception as exc:
        return exc
    raise AssertionError("a message needs more than its text")


FAILURES: dict[str, Callable[[str], Exception]] = {
    "a bug": lambda text: RuntimeError("handler bug"),
    "a database error": database_error,
    "a validation error": validation_error,
}


def failing_router(failure: Callable[[str], Exception]) -> Router:
    router = Router(name="failing")

    @router.message(F.text)
    async def on_text(message: Message) -> None:
        raise failure(message.text or "")

    @router.callback_query()
    async def on_press(query: CallbackQuery) -> None:
        raise failure(query.data or "")

    return router


def a_message(update_id: int, text: str, chat_id: int = STRANGER, message_id: int = 1) -> Update:
    who = User(id=STRANGER, is_bot=False, first_name=NAME, last_name=PHONE, language_code="zh")
    chat = (
        Chat(id=chat_id, type="private", first_name=NAME)
        if chat_id > 0
        else Chat(id=chat_id, type="supergroup", title="Office")
    )
    message = Message(
        message_id=message_id, date=datetime.now(UTC), chat=chat, from_user=who, text=text
    )
    return Update(update_id=update_id, message=message)


def a_press(update_id: int, data: str) -> Update:
    who = User(id=STRANGER, is_bot=False, first_name=NAME, language_code="zh")
    shown = Message(
        message_id=5,
        date=datetime.now(UTC),
        chat=Chat(id=STRANGER, type="private", first_name=NAME),
        text=SECRET,
    )
    query = CallbackQuery(id="q1", from_user=who, chat_instance="ci", message=shown, data=data)
    return Update(update_id=update_id, callback_query=query)


def rendered(record: logging.LogRecord) -> str:
    """Everything anyone could read of a record: its message, its fields, its traceback,
    as the bot's log formats (JSON and text) write them."""
    formats = (JsonFormatter(), TextFormatter())
    return "\n".join([record.getMessage(), repr(record.args), *(f.format(record) for f in formats)])


def serious(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_a_failed_update_is_logged_once_by_its_ids_never_by_its_words(
    tg: Telegram, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    first(tg, failing_router(FAILURES[failure]))
    with caplog.at_level(logging.DEBUG):
        await tg.feed(a_message(700, SECRET))
    # The person is told, in their language.
    assert [m.plain for m in tg.chat(STRANGER)] == [SORRY]
    [error] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert serious(caplog) == [error]
    assert error.getMessage().startswith("update 700 failed (message): ")
    assert (error.update_id, error.type, error.chat_id, error.user_id) == (  # type: ignore[attr-defined]
        700,
        "message",
        STRANGER,
        STRANGER,
    )
    # The traceback is kept for the developers, by our formatters.
    assert "Traceback (most recent call last)" in JsonFormatter().format(error)
    for record in caplog.records:
        shown = rendered(record)
        for private in PRIVATE:
            assert private not in shown, (record.name, record.levelname, shown)


async def test_the_database_error_keeps_its_statement_and_its_cause(
    tg: Telegram, caplog: pytest.LogCaptureFixture
) -> None:
    first(tg, failing_router(database_error))
    with caplog.at_level(logging.ERROR):
        await tg.feed(a_message(701, SECRET))
    [error] = caplog.records
    assert error.getMessage() == (
        "update 701 failed (message): IntegrityError: (IntegrityError) "
        "UNIQUE constraint failed: drafts.body"
    )
    text = TextFormatter().format(error)
    assert "sqlalchemy.exc.IntegrityError: (IntegrityError) UNIQUE constraint failed" in text
    assert "[SQL: INSERT INTO drafts (body) VALUES (?)]" in text
    assert SECRET not in text


async def test_a_command_and_a_buttons_family_are_named_but_nothing_after(
    tg: Telegram, caplog: pytest.LogCaptureFixture
) -> None:
    first(tg, failing_router(FAILURES["a bug"]))
    with caplog.at_level(logging.ERROR):
        await tg.feed(a_message(702, f"/note WZ-2026-0001 {SECRET}"))
        await tg.feed(a_press(703, f"card:{PHONE}"))
    typed, pressed = caplog.records
    assert typed.getMessage().startswith("update 702 failed (message /note): ")
    assert typed.command == "/note"  # type: ignore[attr-defined]
    assert pressed.getMessage().startswith("update 703 failed (callback_query card): ")
    assert (pressed.callback, pressed.chat_id) == ("card", STRANGER)  # type: ignore[attr-defined]
    for record in caplog.records:
        for private in PRIVATE:
            assert private not in rendered(record)
    assert tg.session.alerts[-1] == ("q1", SORRY, True)


@pytest.mark.parametrize(
    ("method", "fault"),
    [
        ("SendMessage", "forbidden"),  # the person blocked the bot meanwhile
        ("SendMessage", "bad_request"),  # "chat not found", and its like
        ("SendMessage", "network"),  # Telegram unreachable
        ("AnswerCallbackQuery", "bad_request"),  # "query is too old"
    ],
)
async def test_an_apology_that_cannot_be_delivered_is_one_short_warning(
    tg: Telegram, caplog: pytest.LogCaptureFixture, method: str, fault: str
) -> None:
    first(tg, failing_router(FAILURES["a bug"]))
    tg.session.fail(method, fault)
    update = a_press(710, "card:1") if method == "AnswerCallbackQuery" else a_message(710, "hi")
    with caplog.at_level(logging.DEBUG):
        await tg.feed(update)  # nothing escapes
    error, warning = serious(caplog)
    assert error.levelno == logging.ERROR
    assert error.getMessage().startswith("update 710 failed (")
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith("update 710: the apology was not delivered: Telegram")
    assert warning.exc_info is None  # short: the failure's traceback is in the line above
    assert tg.chat(STRANGER) == []


async def test_a_reply_to_a_deleted_message_is_still_delivered(tg: Telegram) -> None:
    # The bot as production builds it, speaking to the same fake Telegram.
    tg.bot = build_bot(make_settings(), session=tg.session)
    tg.member(NINA, "Nina", GROUP, "member")
    await tg.feed(a_message(720, "/frob@outpost_bot", chat_id=GROUP, message_id=76))
    [answer] = tg.chat(GROUP)
    assert answer.reply_to == 76
    # Nina deletes her next message before the bot has answered it.
    tg.session.gone.add((GROUP, 77))
    await tg.feed(a_message(721, "/frob@outpost_bot", chat_id=GROUP, message_id=77))
    assert [m.plain for m in tg.chat(GROUP)] == [answer.plain, answer.plain]
