"""The things the sandbox's world is made of: people, files, messages, chats, callback
queries, updates, webhook settings, faults, logged calls; and the Bot API shapes of a
chat member and the size of an image."""

from __future__ import annotations

import json
import random
import struct
from dataclasses import dataclass, field
from typing import Any

MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
GROUP_TYPES = ("group", "supergroup")
# What the bot itself can be in a group: in it (and seeing it), or not.
BOT_STATUSES = ("administrator", "member", "left", "kicked")
BOT_PRESENT = ("administrator", "member")
# How an injected fault shows itself (counted apart in GET /sandbox/faults).
FAULT_KINDS = ("status", "delay", "timeout_before", "timeout_after")


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    # This person has blocked the bot: the bot's sends to them fail with 403.
    blocked: bool = False
    # For the chat page only (who this person is in the demo, the phone a contact button
    # shares); not Telegram's, so never in json().
    about: str | None = None
    phone: str | None = None

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # photo | document
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    def photo_sizes(self) -> list[dict[str, Any]]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": len(self.data),
            }
        ]

    def document(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_name is not None:
            data["file_name"] = self.file_name
        if self.mime_type is not None:
            data["mime_type"] = self.mime_type
        return data

    def file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class Message:
    message_id: int
    chat_id: int
    from_id: int
    from_bot: bool
    date: int
    kind: str  # text | photo | document | contact | location
    # The text, or the caption of a photo or document: as shown, as sent, its entities.
    plain: str | None = None
    html: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    file_id: str | None = None
    contact: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    reply_to: int | None = None
    # Inline keyboards change with edits; other markups are as sent.
    reply_markup: dict[str, Any] | None = None
    media_group_id: str | None = None
    edit_date: int | None = None
    deleted: bool = False


@dataclass
class Chat:
    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    # user id -> status, for groups; the bot is an administrator of every group.
    members: dict[int, str] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    # The reply keyboard the bot showed last (None after a ReplyKeyboardRemove).
    keyboard: dict[str, Any] | None = None
    # The bot's own status in a group: administrator unless it was added as a member,
    # left (leaveChat) or was removed (see BOT_STATUSES).
    bot_status: str = "administrator"

    @property
    def private(self) -> bool:
        return self.type == "private"


@dataclass
class CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    from_id: int
    data: str
    created_at: float  # on the world's clock: when the person pressed the button
    seq: int = 0  # the order of presses, for ?since= in GET /sandbox/callbacks
    pressed_at: float = 0.0  # unix seconds
    answered: bool = False
    answered_at: float | None = None  # unix seconds
    delay: float | None = None  # seconds from the press to the answer, on the world's clock
    # Answers refused: too late (and how late the first one was), or a second answer.
    late_attempts: int = 0
    late_delay: float | None = None
    repeat_attempts: int = 0
    text: str | None = None
    show_alert: bool = False
    url: str | None = None

    def state(self, now: float, window: float) -> str:
        """answered; pending (still answerable); expired (never answered in time)."""
        if self.answered:
            return "answered"
        return "pending" if now - self.created_at <= window else "expired"

    def json(self, now: float, window: float) -> dict[str, Any]:
        return {
            "callback_query_id": self.id,
            "seq": self.seq,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "from_id": self.from_id,
            "data": self.data,
            "pressed_at": self.pressed_at,
            "state": self.state(now, window),
            "answered": self.answered,
            "answered_at": self.answered_at,
            "delay": self.delay,
            "late_attempts": self.late_attempts,
            "late_delay": self.late_delay,
            "repeat_attempts": self.repeat_attempts,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


@dataclass
class UpdateRecord:
    update_id: int
    kind: str
    payload: dict[str, Any]
    created_at: float  # unix seconds
    # Not queued: the bot's allowed_updates excluded this kind when it was produced.
    skipped: bool = False
    deliveries: int = 0  # times handed out by getUpdates or pushed with a 2xx answer
    confirmed: bool = False
    attempts: int = 0  # webhook pushes tried, successful or not
    dropped: bool = False
    last_error: str | None = None

    def json(self) -> dict[str, Any]:
        return {
            "update_id": self.update_id,
            "type": self.kind,
            "update": self.payload,
            "at": self.created_at,
            "skipped": self.skipped,
            "delivered": self.deliveries > 0,
            "deliveries": self.deliveries,
            "confirmed": self.confirmed,
            "attempts": self.attempts,
            "dropped": self.dropped,
            "last_error": self.last_error,
        }


@dataclass(eq=False)  # entries are told apart by identity
class QueuedUpdate:
    update_id: int
    # Put back by /sandbox/redeliver: handed out once more even though the bot's offset
    # has passed it (Telegram's offset rule would otherwise swallow it unseen).
    redelivered: bool = False
    handed_out: bool = False


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None
    # The bot token it was set with: a method in a webhook answer runs as that bot.
    token: str = ""


@dataclass
class Fault:
    id: int
    method: str  # lower-case method name, or "*"
    status: int | None = None
    description: str | None = None
    retry_after: int | None = None
    times: int | None = 1  # None: until cleared
    delay: float | None = None
    chat_id: int | None = None
    # Applies to each matching call with this chance (None: to every one), drawn from
    # its own generator seeded with ``seed``, so a run repeats exactly.
    probability: float | None = None
    seed: int | None = None
    # "before": the call is not performed and its answer never comes; "after": it is
    # performed, and then its answer never comes (the duplicate a real timeout causes).
    timeout: str | None = None
    applied: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    @property
    def kind(self) -> str:
        if self.timeout is not None:
            return f"timeout_{self.timeout}"
        return "status" if self.status is not None else "delay"

    def fires(self) -> bool:
        return self.probability is None or self.rng.random() < self.probability

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "status": self.status,
            "description": self.description,
            "retry_after": self.retry_after,
            "times": self.times,
            "delay": self.delay,
            "chat_id": self.chat_id,
            "probability": self.probability,
            "seed": self.seed,
            "timeout": self.timeout,
            "kind": self.kind,
            "applied": self.applied,
        }


@dataclass
class RequestEntry:
    """One Bot API call as GET /sandbox/requests shows it.

    ``seq`` counts calls from 1 (in arrival order, never reused); ``at`` is when the call
    arrived, in unix seconds (``time.time()``, before any latency or fault delay);
    ``status`` the HTTP status answered (0: no answer, a timeout fault), ``ok`` whether it
    was 2xx, ``error`` the description of a refusal, ``retry_after`` the seconds a 429 (or
    an injected error carrying one) told the bot to wait.
    """

    seq: int
    method: str
    params: dict[str, Any]
    status: int
    ok: bool
    error: str | None
    at: float
    # The injected fault that hit this call: its kind (FAULT_KINDS) and id.
    fault: str | None = None
    fault_id: int | None = None
    retry_after: int | None = None

    def json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "method": self.method,
            "params": self.params,
            "status": self.status,
            "ok": self.ok,
            "error": self.error,
            "at": self.at,
            "fault": self.fault,
            "fault_id": self.fault_id,
            "retry_after": self.retry_after,
        }


def member_json(status: str, user: dict[str, Any]) -> dict[str, Any]:
    """A ChatMember in the shape its status demands (aiogram and PTB require every
    right of an administrator or a restricted member to be present)."""
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
            "can_send_welcome_messages": False,
            "can_pin_messages": True,
            "can_manage_topics": False,
        }
    if status == "restricted":
        rights = (
            "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos",
            "can_send_videos", "can_send_video_notes", "can_send_voice_notes",
            "can_send_polls", "can_send_other_messages", "can_add_web_page_previews",
            "can_react_to_messages", "can_edit_tag", "can_change_info", "can_invite_users",
            "can_pin_messages", "can_manage_topics",
        )  # fmt: skip
        return {
            "status": "restricted",
            "user": user,
            "is_member": True,
            **dict.fromkeys(rights, False),
            "until_date": 0,
        }
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    return {"status": status, "user": user}


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG or JPEG; a plausible default for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return 800, 600


def utf8_json(value: Any, **options: Any) -> bytes:
    """``value`` as UTF-8 JSON. A string holding a lone surrogate (a JSON text can carry
    ``"\\ud800"``, and an injected update may) has no UTF-8 form: such a value is written
    with ASCII escapes instead, which any JSON reader decodes to the same strings."""
    try:
        return json.dumps(value, ensure_ascii=False, **options).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, **options).encode("ascii")
