"""Structured logs: the ``extra`` fields become fields of the line; people's words
never do."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from datetime import UTC, datetime

import pytest
from aiogram.types import Chat, Message, Update
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from bot.logs import LogFormat, about_update, configure, describe_error


@pytest.fixture
def restore_root() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root")
def test_json_lines_carry_the_extra_fields() -> None:
    out = io.StringIO()
    configure("INFO", "json", out)
    logging.getLogger("bot.delivery").warning(
        "outbox row %s failed", 7, extra={"outbox_id": 7, "chat_id": -100500, "kind": "x"}
    )
    logging.getLogger("bot.delivery").debug("not at INFO")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "bot.delivery"
    assert entry["msg"] == "outbox row 7 failed"
    assert (entry["outbox_id"], entry["chat_id"], entry["kind"]) == (7, -100500, "x")
    assert entry["ts"].endswith("+00:00")


@pytest.mark.usefixtures("restore_root")
def test_json_keeps_the_traceback_and_chinese_readable() -> None:
    out = io.StringIO()
    configure("INFO", "json", out)
    try:
        raise RuntimeError("数据库不可用")
    except RuntimeError:
        logging.getLogger("bot").exception("update failed", extra={"update_id": 3})
    entry = json.loads(out.getvalue())
    assert "数据库不可用" in out.getvalue()
    assert "RuntimeError: 数据库不可用" in entry["exc"]
    assert entry["update_id"] == 3


@pytest.mark.usefixtures("restore_root")
def test_text_lines_show_the_fields_after_the_message() -> None:
    out = io.StringIO()
    configure("INFO", "text", out)
    logging.getLogger("bot.runtime").info("connected", extra={"bot_id": 42})
    line = out.getvalue().strip()
    assert line.endswith("INFO bot.runtime: connected [bot_id=42]")


SECRET = "秘密电话13800138000"


@pytest.mark.usefixtures("restore_root")
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_traceback_leaves_out_the_values_an_error_quotes(fmt: LogFormat) -> None:
    out = io.StringIO()
    configure("INFO", fmt, out)
    try:
        try:
            raise sqlite3.IntegrityError("UNIQUE constraint failed: drafts.body")
        except sqlite3.IntegrityError as exc:
            raise IntegrityError("INSERT INTO drafts (body) VALUES (?)", (SECRET,), exc) from exc
    except IntegrityError:
        logging.getLogger("bot.runtime.polling").exception("update failed")
    text = out.getvalue()
    assert SECRET not in text
    assert "[parameters" not in text
    # What the developers need is all there: the cause, the statement, the frames.
    shown = json.loads(text)["exc"] if fmt == "json" else text
    assert "sqlite3.IntegrityError: UNIQUE constraint failed: drafts.body" in shown
    assert "The above exception was the direct cause of the following exception" in shown
    assert "[SQL: INSERT INTO drafts (body) VALUES (?)]" in shown
    assert "in test_a_traceback_leaves_out_the_values_an_error_quotes" in shown


def test_an_error_is_described_on_one_line_without_its_inputs() -> None:
    try:
        Message.model_validate({"text": SECRET})
    except ValidationError as exc:
        said = describe_error(exc)
    assert said.startswith("ValidationError: ")
    assert "message_id: Field required" in said
    assert SECRET not in said
    assert describe_error(RuntimeError("two\nlines")) == "RuntimeError: two lines"


def test_an_update_is_known_by_its_ids_and_kinds() -> None:
    sender = Chat(id=-1001, type="channel", title=SECRET)
    post = Message(message_id=3, date=datetime.now(UTC), chat=sender, text=f"/start {SECRET}")
    assert about_update(Update(update_id=9, channel_post=post)) == {
        "update_id": 9,
        "type": "channel_post",
        "chat_id": -1001,
        "command": "/start",
    }
    # A kind this aiogram does not know: its id is all there is to say.
    assert about_update(Update(update_id=10)) == {"update_id": 10}
