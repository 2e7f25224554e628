"""reply_markup as Telegram checks it: inline keyboards, reply keyboards, remove, force reply.

A valid markup is kept in a normal form (no null fields) so that "message is not
modified" compares what the chat would show, not how the client happened to spell it.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.errors import bad_request

# An inline button does exactly one of these when pressed.
INLINE_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
MAX_BUTTONS = 100
CALLBACK_DATA_BYTES = 64
_URL = re.compile(r"(https?|tg|ton)://\S+", re.IGNORECASE)


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def parse_reply_markup(value: Any) -> dict[str, Any] | None:
    """The markup in normal form, or None for none; Telegram's 400 when it is invalid."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    markup: dict[str, Any] = without_nulls(value)
    if not markup:
        return None
    if "inline_keyboard" in markup:
        _check_inline(markup["inline_keyboard"])
        return markup
    if "keyboard" in markup:
        _check_keyboard(markup["keyboard"])
        return markup
    if "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup
    if "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def is_inline(markup: dict[str, Any] | None) -> bool:
    return markup is not None and "inline_keyboard" in markup


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not is_inline(markup):
        return []
    assert markup is not None
    return [button for row in markup["inline_keyboard"] for button in row]


def _rows(rows: Any, what: str) -> list[list[Any]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(f'can\'t parse {what}: field "{what}" must be an Array of Arrays')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return rows


def _check_inline(rows: Any) -> None:
    for row in _rows(rows, "inline_keyboard"):
        for button in row:
            if not isinstance(button, dict):
                raise bad_request("can't parse inline keyboard button: object expected")
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise bad_request("can't parse inline keyboard button: button text is empty")
            actions = [name for name in INLINE_ACTIONS if name in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise bad_request(
                    "can't parse inline keyboard button: exactly one of "
                    f"{', '.join(INLINE_ACTIONS)} must be used, found {', '.join(actions)}"
                )
            data = button.get("callback_data")
            if "callback_data" in button and (
                not isinstance(data, str)
                or not data
                or len(data.encode("utf-8")) > CALLBACK_DATA_BYTES
            ):
                raise bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if "url" in button and (not isinstance(url, str) or not _URL.fullmatch(url)):
                raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _check_keyboard(rows: Any) -> None:
    for row in _rows(rows, "keyboard"):
        for button in row:
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text.strip():
                raise bad_request("can't parse keyboard button: button text is empty")
