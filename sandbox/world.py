"""The sandbox's in-memory world: people, chats, messages, files, updates, and the log.

Everything the Bot API and the control API see lives here, in one object per server
(no module-level state), and is rendered to JSON in the Bot API's own shapes so that
aiogram and python-telegram-bot parse it as they parse Telegram's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import itertools
import secrets
import time
from typing import Any

from aiohttp import web

from sandbox.changes import ChangeFeed
from sandbox.config import SandboxConfig
from sandbox.limits import Clock, LimitSettings, RateLimiter
from sandbox.markup import is_inline
from sandbox.records import (
    BOT_PRESENT,
    FAULT_KINDS,
    CallbackQuery,
    Chat,
    Fault,
    Message,
    QueuedUpdate,
    RequestEntry,
    StoredFile,
    UpdateRecord,
    User,
    Webhook,
    image_size,
    member_json,
)

# What Telegram sends when a bot has not chosen (allowed_updates empty or never given).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post",
        "business_connection", "business_message", "edited_business_message",
        "deleted_business_messages", "inline_query", "chosen_inline_result",
        "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media",
        "poll", "poll_answer", "my_chat_member", "chat_join_request", "chat_boost",
        "removed_chat_boost",
    }
)  # fmt: skip
REQUEST_LOG_LIMIT = 100_000
# The log is trimmed this many past its limit at a time, so a full log does not move
# 100 000 entries on every call.
_REQUEST_LOG_SLACK = 10_000


class World:
    def __init__(self, config: SandboxConfig, clock: Clock = time.monotonic) -> None:
        # A copy: /sandbox/limits changes it at run time, never the caller's object.
        self.config = dataclasses.replace(config)
        self.clock = clock
        self.bot = User(
            id=config.bot_id or 0,
            first_name=config.bot_first_name,
            username=config.bot_username,
            is_bot=True,
        )
        # Ids keep counting across resets, so a bot still running never sees an old
        # update_id again (its offset would swallow it) nor a reused message id.
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._file_numbers = itertools.count(1)
        self._callback_numbers = itertools.count(1)
        self._fault_ids = itertools.count(1)
        self._request_seq = itertools.count(1)
        self._media_groups = itertools.count(1)
        self._arrived = asyncio.Event()
        self.closing = False
        # Each bot's latest getUpdates, by the number it began with; outlives resets, as
        # a long poll may.
        self._poll_numbers = itertools.count(1)
        self._latest_poll: dict[str, int] = {}
        # The bot's own configuration survives /sandbox/reset.
        self.webhook: Webhook | None = None
        self.allowed_updates: list[str] | None = None
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.limiter = RateLimiter(self.limit_settings(), clock)
        # Outlives resets: the chat page stays subscribed and is told to reload.
        self.changes = ChangeFeed()
        self.reset()

    def reset(self) -> None:
        self.users: dict[int, User] = {}
        self._user_cursor = 1000
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.file_paths: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackQuery] = {}
        self.updates: dict[int, UpdateRecord] = {}
        self.queue: list[QueuedUpdate] = []
        self.faults: list[Fault] = []
        # Faults that hit a call, by kind and by method and kind (GET /sandbox/faults).
        self.faults_applied: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.faults_applied_by_method: dict[str, dict[str, int]] = {}
        self.requests: list[RequestEntry] = []
        self.limiter = RateLimiter(self.limit_settings(), self.clock)
        self.notify()
        self.changed("reset")

    def changed(
        self,
        kind: str,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
        **extra: Any,
    ) -> None:
        """Tell the chat page what changed: kind is message, edit, delete, keyboard, chat,
        user, callback_answer or reset (see sandbox/README.md, "The chat page")."""
        self.changes.publish(kind, chat_id=chat_id, message_id=message_id, **extra)

    # ---- configuration -------------------------------------------------------------

    def limit_settings(self) -> LimitSettings:
        c = self.config
        return LimitSettings(
            global_per_second=c.global_per_second,
            private_per_second=c.private_per_second,
            private_burst=c.private_burst,
            group_per_minute=c.group_per_minute,
        )

    def seen_token(self, bot_id: int) -> None:
        """The bot is whoever the last call's token names."""
        self.bot.id = bot_id

    # ---- people and chats ----------------------------------------------------------

    def next_user_id(self) -> int:
        # A cursor, not a scan from 1000: a benchmark creates thousands of people.
        while self._user_cursor in self.users or self._user_cursor == self.bot.id:
            self._user_cursor += 1
        return self._user_cursor

    def add_user(self, user: User) -> User:
        self.users[user.id] = user
        # Everyone has a private chat the bot may write to, as if they had pressed Start.
        self.chats[user.id] = Chat(id=user.id, type="private")
        self.changed("user", chat_id=user.id)
        return user

    def next_chat_id(self, kind: str) -> int:
        n = 1
        while True:
            candidate = -(1_001_000_000_000 + n) if kind == "supergroup" else -(1000 + n)
            if candidate not in self.chats:
                return candidate
            n += 1

    def add_group(
        self,
        chat_id: int,
        kind: str,
        title: str,
        members: dict[int, str],
        bot_status: str = "administrator",
    ) -> Chat:
        chat = Chat(
            id=chat_id, type=kind, title=title, members=dict(members), bot_status=bot_status
        )
        self.chats[chat_id] = chat
        self.changed("chat", chat_id=chat_id)
        return chat

    def emit_bot_status(
        self, chat: Chat, actor: dict[str, Any], old: str, new: str
    ) -> UpdateRecord:
        """The my_chat_member update telling the bot its status in ``chat`` changed."""
        bot = self.bot_json()
        return self.emit(
            "my_chat_member",
            {
                "chat": self.chat_json(chat),
                "from": actor,
                "date": int(time.time()),
                "old_chat_member": member_json(old, bot),
                "new_chat_member": member_json(new, bot),
            },
        )

    def bot_in(self, chat: Chat) -> bool:
        """Whether the bot is in the chat: it gets its updates and may write there."""
        return chat.private or chat.bot_status in BOT_PRESENT

    def status_in(self, chat: Chat, user_id: int) -> str:
        if user_id == self.bot.id:
            return chat.bot_status if not chat.private else "member"
        if chat.private:
            return "member" if user_id == chat.id else "left"
        return chat.members.get(user_id, "left")

    def chat_of(self, key: int | str) -> Chat | None:
        """A chat by id, or a private chat by its person's @username."""
        if isinstance(key, int):
            return self.chats.get(key)
        name = key.lstrip("@").lower()
        for user in self.users.values():
            if user.username and user.username.lower() == name:
                return self.chats.get(user.id)
        return None

    # ---- messages ------------------------------------------------------------------

    def next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def add_message(self, chat: Chat, **fields: Any) -> Message:
        message = Message(
            message_id=self.next_message_id(chat.id),
            chat_id=chat.id,
            date=int(time.time()),
            **fields,
        )
        chat.messages[message.message_id] = message
        self.changed("message", chat_id=chat.id, message_id=message.message_id)
        return message

    def message(self, chat: Chat, message_id: int) -> Message | None:
        """A message still in the chat (not deleted)."""
        found = chat.messages.get(message_id)
        return None if found is None or found.deleted else found

    def new_media_group_id(self) -> str:
        return f"{13_000_000_000_000_000 + next(self._media_groups)}"

    # ---- files ---------------------------------------------------------------------

    def add_file(
        self,
        kind: str,
        data: bytes,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        n = next(self._file_numbers)
        prefix = "AgAC" if kind == "photo" else "BQAC"
        file_id = f"{prefix}{n:05d}{secrets.token_urlsafe(24)}"
        unique = f"AQAD{n:05d}{secrets.token_urlsafe(6)}"
        if kind == "photo":
            width, height = image_size(data)
            path = f"photos/file_{n}.jpg"
        else:
            width, height = 0, 0
            extension = ""
            if file_name and "." in file_name:
                extension = "." + file_name.rsplit(".", 1)[1][:10]
            path = f"documents/file_{n}{extension}"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            kind=kind,
            data=data,
            file_path=path,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[file_id] = stored
        self.file_paths[path] = stored
        return stored

    # ---- callback queries ----------------------------------------------------------

    def new_callback_id(self) -> tuple[str, int]:
        """A fresh callback query id, and its number (the order of presses)."""
        number = next(self._callback_numbers)
        return f"{number}{secrets.randbelow(10**9):09d}", number

    def callback_json(self, query: CallbackQuery) -> dict[str, Any]:
        return query.json(self.clock(), self.config.callback_answer_timeout)

    # ---- updates -------------------------------------------------------------------

    def emit(self, kind: str, body: dict[str, Any]) -> UpdateRecord:
        """Produce an update; queue it unless the bot's allowed_updates exclude its kind."""
        return self.emit_raw({kind: body})

    def emit_raw(self, fields: dict[str, Any], *, ignore_allowed: bool = False) -> UpdateRecord:
        """Produce an update made of ``fields`` as given, whatever they hold, with the next
        update_id; its kind is its first field. Queued unless the bot's allowed_updates
        exclude that kind and ``ignore_allowed`` is false (a server that ignores them)."""
        update_id = next(self._update_ids)
        kind = next(iter(fields))
        record = UpdateRecord(
            update_id=update_id,
            kind=kind,
            payload={"update_id": update_id, **fields},
            created_at=time.time(),
        )
        # One setting for both ways of delivery, as Telegram keeps it per bot.
        wanted = set(self.allowed_updates) if self.allowed_updates else DEFAULT_UPDATE_TYPES
        record.skipped = kind not in wanted and not ignore_allowed
        self.updates[update_id] = record
        if not record.skipped:
            self.queue.append(QueuedUpdate(update_id))
            self.notify()
        return record

    def redeliver(self, record: UpdateRecord) -> None:
        record.confirmed = False
        record.dropped = False
        record.attempts = 0
        self.queue = [entry for entry in self.queue if entry.update_id != record.update_id]
        # In update_id order, so a client's offset arithmetic (last id + 1) stays sound.
        position = next(
            (i for i, entry in enumerate(self.queue) if entry.update_id > record.update_id),
            len(self.queue),
        )
        self.queue.insert(position, QueuedUpdate(record.update_id, redelivered=True))
        self.notify()

    def notify(self) -> None:
        """Wake whoever waits for updates (long polls, the webhook pusher)."""
        self._arrived.set()
        self._arrived = asyncio.Event()

    async def wait_for_change(self, seconds: float) -> None:
        """Return after the next notify() or after ``seconds``, whichever comes first."""
        event = self._arrived
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    def begin_poll(self, bot: str) -> int:
        """A getUpdates of ``bot`` (its token's id) begins: its number. An earlier one
        still waiting is woken to find itself superseded."""
        number = next(self._poll_numbers)
        self._latest_poll[bot] = number
        self.notify()
        return number

    def poll_superseded(self, bot: str, number: int) -> bool:
        return self._latest_poll.get(bot) != number

    def latest_poll(self, bot: str) -> int | None:
        """The number of ``bot``'s latest getUpdates, None before its first."""
        return self._latest_poll.get(bot)

    def drop_pending(self) -> None:
        for entry in self.queue:
            self.updates[entry.update_id].dropped = True
        self.queue.clear()

    # ---- the request log -----------------------------------------------------------

    def log_request(
        self,
        method: str,
        params: dict[str, Any],
        status: int,
        error: str | None,
        at: float,
        fault: Fault | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Log one Bot API call; ``at`` is when it arrived, in unix seconds (time.time())."""
        self.requests.append(
            RequestEntry(
                seq=next(self._request_seq),
                method=method,
                params=params,
                status=status,
                ok=200 <= status < 300,
                error=error,
                at=at,
                fault=fault.kind if fault is not None else None,
                fault_id=fault.id if fault is not None else None,
                retry_after=retry_after,
            )
        )
        if len(self.requests) > REQUEST_LOG_LIMIT + _REQUEST_LOG_SLACK:
            del self.requests[: len(self.requests) - REQUEST_LOG_LIMIT]

    def new_fault_id(self) -> int:
        return next(self._fault_ids)

    def count_fault(self, fault: Fault, method: str) -> None:
        fault.applied += 1
        self.faults_applied[fault.kind] += 1
        by_kind = self.faults_applied_by_method.setdefault(method, {})
        by_kind[fault.kind] = by_kind.get(fault.kind, 0) + 1

    # ---- rendering -----------------------------------------------------------------

    def sender_json(self, message: Message) -> dict[str, Any]:
        if message.from_bot:
            return self.bot_json()
        user = self.users.get(message.from_id)
        return user.json() if user else {"id": message.from_id, "is_bot": False, "first_name": "?"}

    def bot_json(self) -> dict[str, Any]:
        return self.bot.json()

    def me_json(self) -> dict[str, Any]:
        return {
            **self.bot.json(),
            "can_join_groups": True,
            # The bot is an administrator in every group, so it sees every message there.
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def chat_json(self, chat: Chat) -> dict[str, Any]:
        if chat.private:
            data: dict[str, Any] = {"id": chat.id, "type": "private"}
            user = self.users.get(chat.id)
            if user is not None:
                data["first_name"] = user.first_name
                if user.last_name:
                    data["last_name"] = user.last_name
                if user.username:
                    data["username"] = user.username
            return data
        return {"id": chat.id, "type": chat.type, "title": chat.title}

    def full_chat_json(self, chat: Chat) -> dict[str, Any]:
        return {
            **self.chat_json(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def message_json(self, message: Message, *, nested: bool = False) -> dict[str, Any]:
        chat = self.chats[message.chat_id]
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.sender_json(message),
            "chat": self.chat_json(chat),
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.media_group_id is not None:
            data["media_group_id"] = message.media_group_id
        if message.reply_to is not None and not nested:
            target = self.message(chat, message.reply_to)
            if target is not None:
                data["reply_to_message"] = self.message_json(target, nested=True)
        stored = self.files.get(message.file_id) if message.file_id else None
        if message.kind == "text":
            data["text"] = message.plain or ""
            if message.entities:
                data["entities"] = message.entities
        elif message.kind in ("photo", "document"):
            if stored is not None:
                if message.kind == "photo":
                    data["photo"] = stored.photo_sizes()
                else:
                    data["document"] = stored.document()
            if message.plain:
                data["caption"] = message.plain
                if message.entities:
                    data["caption_entities"] = message.entities
        elif message.kind == "contact":
            data["contact"] = message.contact
        elif message.kind == "location":
            data["location"] = message.location
        if is_inline(message.reply_markup):
            data["reply_markup"] = message.reply_markup
        return data

    def message_view(self, message: Message) -> dict[str, Any]:
        """A message as the control API shows it: the Bot API shape plus what tests ask."""
        data = self.message_json(message)
        data["from_bot"] = message.from_bot
        data["edited"] = message.edit_date is not None
        data["deleted"] = message.deleted
        data["text"] = message.plain
        data["html"] = (
            message.html
            if message.from_bot or message.plain is None
            else html.escape(message.plain, quote=False)
        )
        data["reply_markup"] = message.reply_markup
        return data

    def user_view(self, user: User) -> dict[str, Any]:
        """A person as the control API shows them: the Bot API user plus what only the
        sandbox knows (never in the Bot API's JSON: Telegram does not send it)."""
        return {**user.json(), "blocked": user.blocked, "about": user.about, "phone": user.phone}

    def member_json(self, chat: Chat, user_id: int) -> dict[str, Any]:
        status = self.status_in(chat, user_id)
        if user_id == self.bot.id:
            user_json = self.bot_json()
        elif user_id in self.users:
            user_json = self.users[user_id].json()
        else:
            user_json = {"id": user_id, "is_bot": False, "first_name": str(user_id)}
        return member_json(status, user_json)

    def chat_view(self, chat: Chat) -> dict[str, Any]:
        """A chat as the control API shows it."""
        data = self.chat_json(chat)
        if chat.private:
            user = self.users.get(chat.id)
            data["user"] = user.json() if user else None
            data["blocked"] = bool(user and user.blocked)
        else:
            data["members"] = [
                {"user": self.users[uid].json() if uid in self.users else {"id": uid},
                 "status": status}
                for uid, status in chat.members.items()
            ] + [{"user": self.bot_json(), "status": chat.bot_status}]  # fmt: skip
            data["bot_status"] = chat.bot_status
        data["keyboard"] = chat.keyboard
        data["message_count"] = len(chat.messages)
        return data


# Where an application created by sandbox.server keeps its world.
WORLD_KEY = web.AppKey("sandbox_world", World)
