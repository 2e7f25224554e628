"""Bounds on what people type, chosen so that a whole card fits one Telegram message
(4096 characters) with its labels, even after HTML escaping."""

from __future__ import annotations

from bot.domain.errors import InvalidInput, MissingInput

TITLE_MAX = 100
BODY_MAX = 2500
TEXT_MAX = 1500  # reasons, questions, answers, progress reports, notes
COMMENT_MAX = 500
LOCATION_MAX = 300
ATTACHMENTS_MAX = 10
NAME_MAX = 100


def clean_text(value: str | None, limit: int, *, field: str, required: bool = True) -> str:
    """Strip and bound a person's text; empty means missing."""
    text = (value or "").strip()
    if not text:
        if required:
            raise MissingInput(f"{field} is required", field=field)
        return ""
    if len(text) > limit:
        raise InvalidInput(f"{field} longer than {limit}", field=field, limit=limit)
    return text
