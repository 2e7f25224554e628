"""How the scheme's places are named: in Chinese, and optionally in English.

A point, a department (and, later, an office) has the name the office gives it, in
Chinese, and may have an English one for the people who read the bot in English. A
:class:`Name` is the Chinese name wherever a plain string is used (a log line, a
search, a spreadsheet of the office's own), and knows its English name, which
:meth:`Name.name_for` picks for an English reader. A name written into an outbox row
or an event travels as two keys, ``key`` and ``key_en`` (:func:`carry`, :func:`carried`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EN_SUFFIX = "_en"
# Between a name and its English name in an admin's command: "城区便民服务中心 | Town Hall".
SEPARATOR = "|"


class Name(str):
    """A place's name (Chinese), which also knows its English name, if it has one."""

    en: str | None

    def __new__(cls, name: str, en: str | None = None) -> Name:
        made = super().__new__(cls, name)
        made.en = (en or "").strip() or None
        return made

    def name_for(self, locale: str) -> str:
        """The name a reader of ``locale`` reads: the English one for English readers,
        when there is one; the Chinese one otherwise."""
        if self.en and locale.lower().startswith("en"):
            return self.en
        return str(self)

    def coded(self, code: str) -> Name:
        """The name after its code, "P01 · 城区便民服务中心", in both languages."""
        return Name(f"{code} · {self}", f"{code} · {self.en}" if self.en else None)

    def __repr__(self) -> str:
        return f"Name({str(self)!r}, en={self.en!r})"


def carry(key: str, name: str | None) -> dict[str, str | None]:
    """A name as an outbox row or an event keeps it: ``{key: 名称, key_en: name}``
    (``key_en`` only when it has an English name)."""
    if name is None:
        return {key: None}
    en = name.en if isinstance(name, Name) else None
    return {key: str(name), key + EN_SUFFIX: en} if en else {key: str(name)}


def carried(payload: Mapping[str, Any], key: str) -> Name | None:
    """The name :func:`carry` wrote under ``key`` (None if there is none)."""
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        return None
    en = payload.get(key + EN_SUFFIX)
    return Name(value, en if isinstance(en, str) else None)


def split_names(text: str) -> tuple[str, str | None]:
    """An admin's "名称 | English name": the name, and the English name if given."""
    name, _bar, en = text.partition(SEPARATOR)
    return name.strip(), (en.strip() or None)
