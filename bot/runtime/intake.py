"""Reading updates one at a time, so that one the framework cannot read blocks nothing.

aiogram validates a whole getUpdates answer at once: a single update it cannot parse
(an older Bot API server's poll without ``allows_revoting``, a "kicked" member without
``until_date``) fails the batch, and the same batch comes back forever. Here each raw
update is read on its own; one that cannot be read becomes an :class:`Unreadable`,
which is recorded as a dead letter, confirmed and skipped like any handled update.

Every string is cleaned on the way in, the same for both databases: PostgreSQL's text
cannot hold NUL, and a lone surrogate (JSON may carry ``"\\ud800"``) cannot be encoded
to UTF-8 for either database, nor for a log line. Telegram's ids fit in 64 bits; an
update with a larger integer cannot come from it, and no column could hold that id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from aiogram import Bot
from aiogram.types import Update
from pydantic import ValidationError

__all__ = ["Unreadable", "clean", "kind_of", "read", "read_all", "update_id_of"]

log = logging.getLogger(__name__)

_INT64: Final = range(-(2**63), 2**63)
# NUL is dropped; a lone surrogate (never half of a pair: decoding JSON joins pairs)
# becomes the replacement character, as a UTF-8 decoder shows a broken sequence.
_NUL: Final = "\x00"
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_MAX_PROBLEMS: Final = 8
_MAX_LOCATION: Final = 120
_KIND_LENGTH: Final = 64


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An update that could not be read: its id, its type, and where it failed (field
    locations and error types, never the values: they are people's words)."""

    update_id: int
    kind: str
    error: str


def update_id_of(raw: object) -> int | None:
    """The update's id, if it has one that can be confirmed and stored."""
    if not isinstance(raw, dict):
        return None
    update_id = raw.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id not in _INT64:
        return None
    return update_id


def kind_of(raw: dict[str, Any]) -> str:
    """The update's type: its first field besides ``update_id``."""
    for key in raw:
        if key != "update_id":
            return clean(str(key))[:_KIND_LENGTH] or "?"
    return "?"


def clean(value: Any) -> Any:
    """``value`` with every string (keys too) made storable: NUL removed, lone
    surrogates replaced."""
    return _clean(value, (), [])


def _clean(value: Any, where: tuple[str, ...], overflows: list[tuple[str, ...]]) -> Any:
    if isinstance(value, str):
        if _NUL in value:
            value = value.replace(_NUL, "")
        if not value.isascii() and _SURROGATE.search(value):
            value = _SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, dict):
        return {
            _clean(str(key), (), overflows): _clean(item, (*where, str(key)), overflows)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_clean(item, (*where, str(i)), overflows) for i, item in enumerate(value)]
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
        overflows.append(where)
    return value


def read(raw: dict[str, Any], bot: Bot) -> Update | Unreadable:
    """The update, or why it cannot be read. ``raw`` must have an id (update_id_of)."""
    update_id = update_id_of(raw)
    assert update_id is not None
    problems: list[str] = []
    try:
        overflows: list[tuple[str, ...]] = []
        cleaned = _clean(raw, (), overflows)
        problems.extend(f"{_location(where)}: int64_overflow" for where in overflows)
        update = Update.model_validate(cleaned, context={"bot": bot})
    except ValidationError as exc:
        problems.extend(
            f"{_location(error['loc'])}: {error['type']}"
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        )
    except RecursionError:
        problems.append("nested too deeply")
    else:
        if not problems and _type_of(update) is None:
            problems.append("no update type aiogram knows")
        if not problems:
            return update
    return Unreadable(update_id, kind_of(raw), _summary(problems))


def read_all(raws: Sequence[Any], bot: Bot) -> list[Update | Unreadable]:
    """A getUpdates answer, read update by update."""
    read_: list[Update | Unreadable] = []
    for raw in raws:
        if update_id_of(raw) is None:
            # Nothing to confirm it by: the next update's id moves the offset past it.
            log.warning("getUpdates answered with an entry that has no update id: ignored")
            continue
        read_.append(read(raw, bot))
    if raws and not read_:
        # Asking again at once would bring the same answer at once.
        raise ValueError("getUpdates answered with no update that has an id")
    return read_


def _type_of(update: Update) -> str | None:
    try:
        return update.event_type
    except LookupError:  # aiogram's UpdateTypeLookupError: a type newer than aiogram
        return None


def _location(where: tuple[Any, ...]) -> str:
    text = ".".join(clean(str(part)) for part in where) or "update"
    return text if len(text) <= _MAX_LOCATION else text[: _MAX_LOCATION - 1] + "…"


def _summary(problems: list[str]) -> str:
    unique = list(dict.fromkeys(problems))
    shown = "; ".join(unique[:_MAX_PROBLEMS])
    if len(unique) > _MAX_PROBLEMS:
        shown += f"; and {len(unique) - _MAX_PROBLEMS} more"
    return shown
