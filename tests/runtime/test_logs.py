"""Structured logs: the ``extra`` fields become fields of the line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import configure


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
