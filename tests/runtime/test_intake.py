"""Reading one raw update: cleaned of what no database can store, or set aside."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.types import Update

from bot.runtime.intake import Unreadable, clean, read, read_all, update_id_of

BOT = Bot("42:" + "A" * 30)


def message(update_id: int = 1, **fields: Any) -> dict[str, Any]:
    body = {
        "message_id": 3,
        "date": 1_767_225_600,
        "chat": {"id": 5, "type": "private", "first_name": "Ann"},
        "from": {"id": 5, "is_bot": False, "first_name": "Ann"},
        "text": "hello",
        **fields,
    }
    return {"update_id": update_id, "message": body}


def test_nul_is_removed_and_a_lone_surrogate_replaced_everywhere() -> None:
    who = {"id": 5, "is_bot": False, "first_name": "A\x00nn\udfff"}
    update = read(message(text="a\x00b \ud800c", **{"from": who}), BOT)
    assert isinstance(update, Update)
    assert update.message is not None
    assert update.message.text == "ab \ufffdc"
    assert update.message.from_user is not None
    assert update.message.from_user.first_name == "Ann\ufffd"
    # Both databases and a log line take them now.
    assert update.message.text.encode("utf-8")
    cleaned = clean({"k\x00": ["\x00", {"x": "\ud83d"}], "n": 5})
    assert cleaned == {"k": ["", {"x": "\ufffd"}], "n": 5}


def test_an_update_that_fails_validation_names_where_never_what() -> None:
    raw = message(text=12345, chat={"id": 5, "type": "private", "title": "my secret words"})
    raw["message"]["poll"] = {"question": "my secret words"}
    letter = read(raw, BOT)
    assert isinstance(letter, Unreadable)
    assert (letter.update_id, letter.kind) == (1, "message")
    assert "message.text: string_type" in letter.error
    assert "message.poll.id: missing" in letter.error
    assert "12345" not in letter.error
    assert "secret" not in letter.error


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (message(chat={"id": 2**64, "type": "private"}), "message.chat.id: int64_overflow"),
        (message(message_id=-(2**63) - 1), "message.message_id: int64_overflow"),
        ({"update_id": 1, "unheard_of": {"a": 1}}, "no update type aiogram knows"),
        ({"update_id": 1, "message": None}, "no update type aiogram knows"),
    ],
)
def test_ids_beyond_64_bits_and_unknown_types_cannot_be_read(
    raw: dict[str, Any], error: str
) -> None:
    letter = read(raw, BOT)
    assert isinstance(letter, Unreadable)
    assert letter.error == error


def test_64_bit_ids_are_read() -> None:
    update = read(message(chat={"id": -(2**63), "type": "group", "title": "G"}), BOT)
    assert isinstance(update, Update)


def test_only_updates_with_a_64_bit_id_are_read_from_a_batch() -> None:
    raws = (message(7), {"update_id": 2**63}, [], {"update_id": True})
    assert [update_id_of(r) for r in raws] == [7, None, None, None]
    batch = read_all([message(7), {"update_id": "8"}, {"update_id": 9, "message": 1}], BOT)
    assert [(type(u).__name__, u.update_id) for u in batch] == [("Update", 7), ("Unreadable", 9)]
    with pytest.raises(ValueError, match="no update that has an id"):
        read_all([{"no": "id"}], BOT)
