"""Text helpers every handler uses: escaping, Telegram's length limits, dates."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n

from bot.domain.names import carried
from bot.i18n import N_ as N_  # the handlers' gettext marker, kept where they find it

MESSAGE_MAX = 4096  # characters of a message after entity parsing
CAPTION_MAX = 1024
BUTTON_TEXT_MAX = 40  # not Telegram's limit, but what fits a phone's keyboard row


def esc(text: object) -> str:
    """A person's text, safe inside a parse_mode=HTML message."""
    return html.escape(str(text), quote=False)


def telegram_length(text: str) -> int:
    """Telegram counts UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


_TAG = re.compile(r"<[^<>]*>")


def shown_length(markup: str) -> int:
    """What Telegram counts for an HTML message: the text after tags and entities."""
    return telegram_length(html.unescape(_TAG.sub("", markup)))


def clip(text: str, limit: int) -> str:
    """Shorten plain (not yet escaped) text to ``limit`` characters, marking the cut."""
    text = text.strip()
    if telegram_length(text) <= limit:
        return text
    out = []
    used = 0
    for ch in text:
        size = telegram_length(ch)
        if used + size > limit - 1:
            break
        out.append(ch)
        used += size
    return "".join(out).rstrip() + "…"


def payload_text(payload: Mapping[str, Any], key: str, limit: int = 200) -> str:
    """A value from a notice's payload (old, partial or hostile), escaped and bounded;
    "?" when it is missing."""
    value = read_payload(payload, key)
    return esc(clip(str(value), limit)) if value not in (None, "") else "?"


def reading() -> str:
    """The language of what is being written now."""
    i18n = I18n.get_current(no_error=True)
    return i18n.current_locale if i18n is not None else "zh_CN"


def read_payload(payload: Mapping[str, Any], key: str) -> Any:
    """A payload's value; a name it carries in both languages (``key`` and ``key_en``,
    ``bot.domain.names.carry``) in the reader's."""
    name = carried(payload, key)
    return name.name_for(reading()) if name is not None else payload.get(key)


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def day(value: date) -> str:
    return value.isoformat()
