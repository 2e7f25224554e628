"""Photos and documents a person sends, kept in conversation data as plain dicts
(the data is stored as JSON) until the service receives them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiogram.types import Message

from bot.domain.statuses import AttachmentKind
from bot.services.views import AttachmentIn

# The widths of the attachment columns: a longer name is cut, never refused.
_FILE_NAME_KEEP = 256
_MIME_KEEP = 128


def attachment_of(message: Message) -> dict[str, Any] | None:
    """The photo or document in a message, or None if it carries neither."""
    if message.photo:
        # Telegram sends several sizes of one photo; the largest is the one to keep.
        best = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return {
            "kind": AttachmentKind.PHOTO.value,
            "file_id": best.file_id,
            "file_unique_id": best.file_unique_id,
            "file_name": None,
            "mime_type": None,
        }
    if message.document:
        doc = message.document
        return {
            "kind": AttachmentKind.DOCUMENT.value,
            "file_id": doc.file_id,
            "file_unique_id": doc.file_unique_id,
            "file_name": doc.file_name[:_FILE_NAME_KEEP] if doc.file_name else None,
            "mime_type": doc.mime_type[:_MIME_KEEP] if doc.mime_type else None,
        }
    return None


def attachments_in(stored: Iterable[Mapping[str, Any]]) -> tuple[AttachmentIn, ...]:
    return tuple(
        AttachmentIn(
            kind=AttachmentKind(a["kind"]),
            file_id=a["file_id"],
            file_unique_id=a.get("file_unique_id") or "",
            file_name=a.get("file_name"),
            mime_type=a.get("mime_type"),
        )
        for a in stored
    )
