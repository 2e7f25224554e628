"""What the bot says in Simplified Chinese, looked up in the catalog by its English
source text, so the browser tests read and press what a Chinese-speaking user sees."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

CATALOG = Path(__file__).resolve().parents[2] / "locales/zh_CN/LC_MESSAGES/messages.po"


@functools.cache
def _catalog() -> Catalog:
    with CATALOG.open("rb") as po:
        return read_po(po)


def zh(msgid: str, **values: object) -> str:
    message = _catalog().get(msgid)
    assert message is not None, f"{msgid!r} is not in the zh_CN catalog"
    assert message.string, f"no zh_CN translation of {msgid!r}"
    text = str(message.string)
    return text.format(**values) if values else text


def zh_part(msgid: str) -> str:
    """The longest stretch of the translation with no placeholder or tag in it: what a
    test can look for whatever the placeholders became."""
    pieces = re.split(r"\{[^}]*\}|<[^>]+>|\n", zh(msgid))
    return max((piece.strip() for piece in pieces), key=len)
