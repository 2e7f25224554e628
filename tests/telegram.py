"""A fake Telegram for handler tests: a recording bot session, and people who talk.

The session answers every Bot API call the way Telegram would and checks it the way
Telegram would (valid HTML, 4096/1024 characters, 64-byte callback data, no edit that
changes nothing); anything Telegram would refuse is collected in ``problems``, which
the fixture asserts empty at the end of every test.
"""

from __future__ import annotations

import asyncio
import itertools
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    DeleteMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    GetChatAdministrators,
    GetChatMember,
    GetChatMemberCount,
    GetMe,
    LeaveChat,
    SendChatAction,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Chat,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberUpdated,
    Contact,
    Document,
    ForceReply,
    FSInputFile,
    InlineKeyboardMarkup,
    Location,
    Message,
    MessageId,
    PhotoSize,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)

from storage import guard
from tests.telegram_html import BadHTML, plain_text, telegram_length

TOKEN = "42:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
BOT_USER = User(id=42, is_bot=True, first_name="Outpost", username="outpost_bot")


@dataclass
class Sent:
    """A message the bot sent, as the chat shows it now (edits applied)."""

    chat_id: int
    message_id: int
    text: str
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply | None = (
        None
    )
    kind: str = "text"
    edited: bool = False
    # The message this one answers (Telegram's reply_parameters), if any.
    reply_to: int | None = None
    # A photo's or document's file id.
    file_id: str | None = None
    # What the bot uploaded (a chart, a workbook): its bytes and file name.
    data: bytes | None = None
    file_name: str | None = None

    @property
    def plain(self) -> str:
        return plain_text(self.text) if self.text else ""

    def buttons(self) -> list[tuple[str, str]]:
        if isinstance(self.markup, InlineKeyboardMarkup):
            return [
                (b.text, b.callback_data or b.url or "")
                for row in self.markup.inline_keyboard
                for b in row
            ]
        return []

    def keys(self) -> list[str]:
        if isinstance(self.markup, ReplyKeyboardMarkup):
            return [b.text for row in self.markup.keyboard for b in row]
        return []


@dataclass
class Fault:
    """Telegram failing calls: the next ``times`` calls of ``method`` (its class name,
    e.g. "SendMessage"), to ``chat_id`` if given, fail as ``kind`` says: "retry_after"
    (429 with ``retry_after``), "server" (500), "network" (a timeout), "forbidden"
    (403), "bad_request" (400), "lost" (the call takes effect, then times out: the
    bot never hears of it) or "dies" (the call takes effect, and the bot is killed
    before it hears of it: the caller is cancelled)."""

    method: str
    kind: str
    times: int = 1
    chat_id: int | None = None
    retry_after: int = 1

    def matches(self, method: TelegramMethod[Any]) -> bool:
        if self.times <= 0 or type(method).__name__ != self.method:
            return False
        return self.chat_id is None or getattr(method, "chat_id", None) == self.chat_id

    def error(self, method: TelegramMethod[Any]) -> Exception:
        if self.kind == "retry_after":
            return TelegramRetryAfter(
                method=method, message="Too Many Requests", retry_after=self.retry_after
            )
        if self.kind == "server":
            return TelegramServerError(method=method, message="Internal Server Error")
        if self.kind == "network":
            return TelegramNetworkError(method=method, message="Request timeout error")
        if self.kind == "forbidden":
            return TelegramForbiddenError(
                method=method, message="Forbidden: bot was blocked by the user"
            )
        if self.kind == "bad_request":
            return TelegramBadRequest(method=method, message="Bad Request: injected")
        raise ValueError(f"no such fault: {self.kind}")


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.problems: list[str] = []
        self.chats: dict[int, list[Sent]] = {}
        self.alerts: list[tuple[str, str | None, bool]] = []
        # (chat, user) -> status in that group: creator, administrator, member, left.
        self.members: dict[tuple[int, int], str] = {}
        # Set to make getChatMember fail the way a Telegram outage would.
        self.members_down = False
        # Members of a group besides those in ``members``: getChatMemberCount counts
        # them (and the bot), as Telegram counts people it never names.
        self.unnamed_members: dict[int, int] = {}
        self.deleted: list[tuple[int, int]] = []
        # Groups the bot left (leaveChat), in order.
        self.left: list[int] = []
        # Chats whose person blocked the bot: anything sent there gets Telegram's 403.
        self.blocked: set[int] = set()
        # (chat, message) people deleted: a reply to one is refused unless the bot
        # allows sending without it, in the call or in its defaults.
        self.gone: set[tuple[int, int]] = set()
        # Injected failures, used up in order (see Fault).
        self.faults: list[Fault] = []
        # Seconds every call takes, and a gate calls wait at while it is closed.
        self.latency = 0.0
        self.gate: asyncio.Event | None = None
        # Calls under way now, and the most there ever were (overall, and in one chat).
        self.in_flight: dict[int | None, int] = {}
        self.most_in_flight = 0
        self.most_in_one_chat = 0
        self._ids = itertools.count(10_000)
        # Edits that took effect while the bot heard a timeout: doing one again is no
        # mistake of the bot's, and Telegram answers it "not modified".
        self.unheard: set[tuple[Any, Any]] = set()

    def fail(
        self,
        method: str,
        kind: str,
        *,
        times: int = 1,
        chat_id: int | None = None,
        retry_after: int = 1,
    ) -> Fault:
        fault = Fault(method, kind, times, chat_id, retry_after)
        self.faults.append(fault)
        return fault

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> Any:
        self.requests.append(method)
        self._guard(method)
        self._check_reply(bot, method)
        if not (self.latency or self.gate is not None):
            return self._answer(method)
        chat = getattr(method, "chat_id", None)
        key = chat if isinstance(chat, int) else None
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        self.most_in_flight = max(self.most_in_flight, sum(self.in_flight.values()))
        if key is not None:
            self.most_in_one_chat = max(self.most_in_one_chat, self.in_flight[key])
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.latency:
                await asyncio.sleep(self.latency)
            return self._answer(method)
        finally:
            self.in_flight[key] -= 1

    def _guard(self, method: TelegramMethod[Any]) -> None:
        """Decide, commit, then speak: no call while the calling task holds a database
        transaction or the SQLite writer lock."""
        held = guard.held()
        if held:
            caller = _caller()
            problem = (
                f"{type(method).__name__} called while holding {' and '.join(held)} (from {caller})"
            )
            self.problems.append(problem)
            raise HeldWhileCalling(problem)

    def _check_reply(self, bot: Bot, method: TelegramMethod[Any]) -> None:
        replied = _reply_to(method)
        chat = getattr(method, "chat_id", None)
        if replied is None or (chat, replied) not in self.gone:
            return
        parameters = getattr(method, "reply_parameters", None)
        if parameters is not None and not isinstance(parameters, Default):
            allowed = parameters.allow_sending_without_reply
        else:
            allowed = getattr(method, "allow_sending_without_reply", None)
        if isinstance(allowed, Default):
            allowed = bot.default[allowed.name]
        if not allowed:
            raise TelegramBadRequest(
                method=method, message="Bad Request: message to be replied not found"
            )

    def _answer(self, method: TelegramMethod[Any]) -> Any:
        for fault in self.faults:
            if fault.matches(method):
                fault.times -= 1
                if fault.kind not in ("lost", "dies"):
                    raise fault.error(method)
                taken = self._take(method)
                if fault.kind == "dies":
                    raise asyncio.CancelledError  # the process is killed as the call is made
                chat = getattr(method, "chat_id", None)
                # The message edited, or sent, without the bot knowing: doing it again,
                # or looking at it, is no mistake of the bot's.
                message = getattr(method, "message_id", None)
                self.unheard.add(
                    (chat, taken.message_id if isinstance(taken, Message) else message)
                )
                raise TelegramNetworkError(method=method, message="Request timeout error")
        return self._take(method)

    def _take(self, method: TelegramMethod[Any]) -> Any:
        chat_id = getattr(method, "chat_id", None)
        if (
            isinstance(chat_id, int)
            and chat_id in self.blocked
            and type(method).__name__.startswith(("Send", "Copy"))
        ):
            raise TelegramForbiddenError(
                method=method, message="Forbidden: bot was blocked by the user"
            )
        if isinstance(method, SendMessage):
            self._check_text(method.text, 4096, method.parse_mode)
            self._check_markup(method.reply_markup)
            return self._record(
                int(method.chat_id),
                method.text,
                method.reply_markup,
                "text",
                reply_to=_reply_to(method),
            )
        if isinstance(method, (SendPhoto, SendDocument)):
            if method.caption is not None:
                self._check_text(method.caption, 1024, method.parse_mode)
            self._check_markup(method.reply_markup)
            kind = "photo" if isinstance(method, SendPhoto) else "document"
            file = method.photo if isinstance(method, SendPhoto) else method.document
            return self._record(
                int(method.chat_id),
                method.caption or "",
                method.reply_markup,
                kind,
                reply_to=_reply_to(method),
                file_id=file if isinstance(file, str) else None,
                upload=_upload(file),
            )
        if isinstance(method, SendMediaGroup):
            if not 2 <= len(method.media) <= 10:
                self.problems.append(f"media group of {len(method.media)}")
            for m in method.media:
                if m.caption is not None:
                    self._check_text(m.caption, 1024, m.parse_mode)
            return [
                self._record(
                    int(method.chat_id),
                    m.caption or "",
                    None,
                    m.type,
                    reply_to=_reply_to(method),
                    file_id=m.media if isinstance(m.media, str) else None,
                    upload=_upload(m.media),
                )
                for m in method.media
            ]
        if isinstance(method, (GetChatMember, GetChatMemberCount, GetChatAdministrators)):
            if self.members_down:
                raise TelegramServerError(method=method, message="Internal Server Error")
            return self._membership(method)
        if isinstance(method, DeleteMessage):
            chat = self.chats.get(int(method.chat_id), [])
            # From the newest: what is deleted was mostly sent lately.
            for at in range(len(chat) - 1, -1, -1):
                if chat[at].message_id == method.message_id:
                    del chat[at]
                    self.deleted.append((int(method.chat_id), method.message_id))
                    return True
            raise TelegramBadRequest(
                method=method, message="Bad Request: message to delete not found"
            )
        if isinstance(method, EditMessageText):
            self._check_text(method.text, 4096, method.parse_mode)
            self._check_markup(method.reply_markup)
            sent = self._find(method.chat_id, method.message_id)
            if sent.text == method.text and sent.markup == method.reply_markup:
                self._again(method)
                self.problems.append(f"message is not modified: {method.text!r}")
            sent.text, sent.markup, sent.edited = method.text, method.reply_markup, True
            return self._message(sent)
        if isinstance(method, EditMessageReplyMarkup):
            self._check_markup(method.reply_markup)
            sent = self._find(method.chat_id, method.message_id)
            if sent.markup == method.reply_markup:
                self._again(method)
                self.problems.append("message is not modified (reply markup)")
            sent.markup, sent.edited = method.reply_markup, True
            return self._message(sent)
        if isinstance(method, AnswerCallbackQuery):
            if method.text is not None and len(method.text) > 200:
                self.problems.append(f"callback answer over 200 characters: {method.text!r}")
            self.alerts.append((method.callback_query_id, method.text, bool(method.show_alert)))
            return True
        if isinstance(method, (SetMyCommands, SendChatAction)):
            if isinstance(method, SetMyCommands):
                for command in method.commands:
                    if not 1 <= len(command.description) <= 256:
                        self.problems.append(f"command description {command.description!r}")
            return True
        if isinstance(method, CopyMessage):
            return MessageId(message_id=next(self._ids))
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, LeaveChat):
            self.left.append(int(method.chat_id))
            return True
        raise NotImplementedError(f"the fake Telegram does not answer {type(method).__name__}")

    def _membership(
        self, method: GetChatMember | GetChatMemberCount | GetChatAdministrators
    ) -> Any:
        chat = int(method.chat_id)
        if isinstance(method, GetChatMember):
            return _member(method.user_id, self.members.get((chat, method.user_id), "left"))
        present = {
            user: status
            for (where, user), status in self.members.items()
            if where == chat and status in ("creator", "administrator", "member")
        }
        if isinstance(method, GetChatMemberCount):
            return len(present) + 1 + self.unnamed_members.get(chat, 0)  # 1: the bot
        return [_member(u, s) for u, s in present.items() if s != "member"]

    # ---- checks ---------------------------------------------------------------------

    def _check_text(self, text: str, limit: int, parse_mode: Any) -> None:
        if isinstance(parse_mode, Default) or parse_mode == "HTML":
            try:
                shown = plain_text(text)
            except BadHTML as exc:
                self.problems.append(str(exc))
                return
        else:
            shown = text
        if not shown.strip():
            self.problems.append("message text is empty")
        if telegram_length(shown) > limit:
            self.problems.append(f"text of {telegram_length(shown)} characters > {limit}")

    def _check_markup(self, markup: Any) -> None:
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for b in row:
                    if not b.text.strip():
                        self.problems.append("a button without text")
                    if b.callback_data is not None and len(b.callback_data.encode()) > 64:
                        self.problems.append(f"callback data over 64 bytes: {b.callback_data}")

    # ---- the chats ------------------------------------------------------------------

    def _record(
        self,
        chat_id: int,
        text: str,
        markup: Any,
        kind: str,
        *,
        reply_to: int | None = None,
        file_id: str | None = None,
        upload: tuple[bytes, str | None] | None = None,
    ) -> Message:
        sent = Sent(
            chat_id,
            next(self._ids),
            text,
            markup,
            kind,
            reply_to=reply_to,
            file_id=file_id,
            data=upload[0] if upload is not None else None,
            file_name=upload[1] if upload is not None else None,
        )
        self.chats.setdefault(chat_id, []).append(sent)
        return self._message(sent)

    def _again(self, method: EditMessageText | EditMessageReplyMarkup) -> None:
        """An edit made again after its first try took effect unheard: "not modified"."""
        key = (method.chat_id, method.message_id)
        if key in self.unheard:
            raise TelegramBadRequest(method=method, message="Bad Request: message is not modified")

    def _find(self, chat_id: Any, message_id: Any) -> Sent:
        # From the newest: what is edited was mostly sent lately (ids are unique).
        for sent in reversed(self.chats.get(int(chat_id), [])):
            if sent.message_id == message_id:
                return sent
        # As Telegram answers an edit of a message deleted (or never sent) in the chat.
        raise TelegramBadRequest(
            method=SendChatAction(chat_id=chat_id, action="typing"),
            message=f"Bad Request: message to edit not found ({chat_id}/{message_id})",
        )

    @staticmethod
    def _message(sent: Sent) -> Message:
        return Message(
            message_id=sent.message_id,
            date=datetime.now(UTC),
            chat=_chat(sent.chat_id),
            from_user=BOT_USER,
            # As Telegram answers: the text without its HTML (the entities are left out).
            text=sent.plain if sent.kind == "text" else None,
            caption=sent.plain if sent.kind != "text" and sent.text else None,
            reply_markup=sent.markup if isinstance(sent.markup, InlineKeyboardMarkup) else None,
        )


class HeldWhileCalling(AssertionError):
    """A Bot API call made inside a transaction or under the writer lock."""


def _caller() -> str:
    """The innermost frame of ours (not aiogram's, not this file's) that led here."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        name = frame.filename
        if "site-packages" in name or name.endswith(("tests/telegram.py", "bot/effects.py")):
            continue
        if "/bot/delivery/session.py" in name:
            continue
        return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "?"


def _upload(file: Any) -> tuple[bytes, str | None] | None:
    """What a file sent holds, and its name: read now, as Telegram would, for a file
    on disk may be removed once it is sent."""
    if isinstance(file, BufferedInputFile):
        return file.data, file.filename
    if isinstance(file, FSInputFile):
        return Path(file.path).read_bytes(), file.filename
    return None


def _reply_to(method: Any) -> int | None:
    parameters = getattr(method, "reply_parameters", None)
    if parameters is not None and not isinstance(parameters, Default):
        return int(parameters.message_id)
    legacy = getattr(method, "reply_to_message_id", None)
    return int(legacy) if isinstance(legacy, int) else None


def _member(user_id: int, status: str) -> Any:
    user = User(id=user_id, is_bot=False, first_name=str(user_id))
    if status == "creator":
        return ChatMemberOwner(user=user, is_anonymous=False)
    if status == "administrator":
        # Every right a false, whatever this Bot API version requires.
        rights = {
            name: False
            for name, spec in ChatMemberAdministrator.model_fields.items()
            if spec.is_required() and name not in ("user", "status")
        }
        return ChatMemberAdministrator.model_validate({"user": user, **rights})
    if status == "member":
        return ChatMemberMember(user=user)
    return ChatMemberLeft(user=user)


def _chat(chat_id: int) -> Chat:
    if chat_id > 0:
        return Chat(id=chat_id, type="private")
    return Chat(id=chat_id, type="supergroup", title="Office")


@dataclass
class Telegram:
    """The fake Telegram end to end: one bot, one Dispatcher, numbered updates."""

    bot: Bot
    session: RecordingSession
    dp: Dispatcher
    updates: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    transcript: list[str] = field(default_factory=list)
    # Set by the fixture: what the outbox sender needs to deliver (see ``drain``).
    courier: Callable[[Bot], Awaitable[Any]] | None = None

    async def feed(self, update: Update) -> None:
        await self.dp.feed_update(self.bot, update)

    def person(
        self, user_id: int, first_name: str = "Alice", language_code: str | None = "zh-hans"
    ) -> Person:
        return Person(self, User(id=user_id, is_bot=False, first_name=first_name,
                                 language_code=language_code))  # fmt: skip

    def member(
        self,
        user_id: int,
        first_name: str,
        chat_id: int,
        status: str = "member",
        language_code: str | None = "zh-hans",
    ) -> Person:
        """Someone in the group ``chat_id``, with that group status for getChatMember."""
        self.session.members[(chat_id, user_id)] = status
        user = User(id=user_id, is_bot=False, first_name=first_name, language_code=language_code)
        return Person(self, user, chat_id=chat_id)

    def chat(self, chat_id: int) -> list[Sent]:
        return self.session.chats.get(chat_id, [])

    async def drain(self) -> Any:
        """Deliver everything pending in the outbox, as the sender would."""
        assert self.courier is not None, "this Telegram has no outbox sender"
        before = {
            chat: {s.message_id: (s.text, s.markup) for s in sent}
            for chat, sent in self.session.chats.items()
        }
        result = await self.courier(self.bot)
        for chat, sent in self.session.chats.items():
            old = before.get(chat, {})
            edited = [
                s for s in sent if s.message_id in old and old[s.message_id] != (s.text, s.markup)
            ]
            fresh = [s for s in sent if s.message_id not in old]
            for one in [*edited, *fresh]:
                self.transcript.append(f"[{chat}] 📬 " + _shown(one, edited=one in edited))
        return result


class Person:
    """Someone talking to the bot: in their private chat, or in a group (``chat_id``)."""

    def __init__(self, tg: Telegram, user: User, *, chat_id: int | None = None) -> None:
        self.tg = tg
        self.user = user
        self.chat_id = user.id if chat_id is None else chat_id
        self._message_ids = itertools.count(1 if chat_id is None else user.id * 1000)

    @property
    def chat(self) -> list[Sent]:
        return self.tg.session.chats.get(self.chat_id, [])

    @property
    def in_group(self) -> bool:
        return self.chat_id != self.user.id

    async def reply(self, to: Sent, text: str) -> list[Sent]:
        """Answer one of the bot's messages (a force-reply prompt, say)."""
        self._log(f"👤 ↩ {text}")
        return await self._message(text=text, reply_to_message=RecordingSession._message(to))

    @property
    def last(self) -> Sent:
        assert self.chat, "the bot has not said anything in this chat"
        return self.chat[-1]

    def said_since(self, mark: int) -> list[Sent]:
        return self.chat[mark:]

    # ---- what a person can do -------------------------------------------------------

    async def send(self, text: str, **extra: Any) -> list[Sent]:
        self._log(f"👤 {text}")
        return await self._message(text=text, **extra)

    async def photo(
        self, file_id: str, caption: str | None = None, media_group_id: str | None = None
    ) -> list[Sent]:
        self._log(f"👤 [photo {file_id}]" + (f" {caption}" if caption else ""))
        size = PhotoSize(file_id=file_id, file_unique_id=f"u-{file_id}", width=800, height=600)
        return await self._message(photo=[size], caption=caption, media_group_id=media_group_id)

    async def document(
        self,
        file_id: str,
        file_name: str = "report.pdf",
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> list[Sent]:
        self._log(f"👤 [document {file_name}]")
        doc = Document(
            file_id=file_id,
            file_unique_id=f"u-{file_id}",
            file_name=file_name,
            mime_type="application/pdf",
        )
        return await self._message(document=doc, caption=caption, media_group_id=media_group_id)

    async def contact(self, phone: str, user_id: int | None = None) -> list[Sent]:
        self._log(f"👤 [contact {phone}]")
        owner = self.user.id if user_id is None else user_id
        return await self._message(
            contact=Contact(phone_number=phone, first_name=self.user.first_name, user_id=owner)
        )

    async def location(self, latitude: float, longitude: float) -> list[Sent]:
        self._log(f"👤 [location {latitude}, {longitude}]")
        return await self._message(location=Location(latitude=latitude, longitude=longitude))

    async def sticker_like(self) -> list[Sent]:
        """Something no step accepts (a dice throw stands in for stickers and voice)."""
        from aiogram.types import Dice

        self._log("👤 [dice]")
        return await self._message(dice=Dice(emoji="🎲", value=3))

    async def block_bot(self) -> None:
        """Block the bot: Telegram refuses it this chat and tells it (my_chat_member)."""
        self.tg.session.blocked.add(self.user.id)
        self._log("👤 [blocks the bot]")
        await self._membership(
            ChatMemberMember(user=BOT_USER), ChatMemberBanned(user=BOT_USER, until_date=0)
        )

    async def unblock_bot(self) -> None:
        """Unblock the bot (or press Start again): the chat is open to it once more."""
        self.tg.session.blocked.discard(self.user.id)
        self._log("👤 [unblocks the bot]")
        await self._membership(
            ChatMemberBanned(user=BOT_USER, until_date=0), ChatMemberMember(user=BOT_USER)
        )

    async def _membership(self, old: Any, new: Any) -> None:
        chat = Chat(id=self.user.id, type="private", first_name=self.user.first_name)
        change = ChatMemberUpdated(
            chat=chat,
            from_user=self.user,
            date=datetime.now(UTC),
            old_chat_member=old,
            new_chat_member=new,
        )
        await self.tg.feed(Update(update_id=next(self.tg.updates), my_chat_member=change))

    async def press(self, text_or_data: str, *, message: Sent | None = None) -> list[Sent]:
        """Press an inline button by its text (or callback data) on the newest message
        that has it, or on ``message``."""
        target, data = self._button(text_or_data, message)
        self._log(f"👤 [presses {self._label(target, data)}]")
        return await self.callback(data, message=target)

    async def callback(self, data: str, *, message: Sent | None = None) -> list[Sent]:
        """Send callback data as Telegram would, forged or not."""
        target = message or self.last
        mark = len(self.chat)
        before = {s.message_id: (s.text, s.markup) for s in self.chat}
        query = CallbackQuery(
            id=f"cb{next(self.tg.updates)}",
            from_user=self.user,
            chat_instance="ci",
            message=RecordingSession._message(target),
            data=data,
        )
        await self.tg.feed(Update(update_id=next(self.tg.updates), callback_query=query))
        return self._new(mark, before)

    # ---- helpers --------------------------------------------------------------------

    async def _message(self, **fields: Any) -> list[Sent]:
        mark = len(self.chat)
        before = {s.message_id: (s.text, s.markup) for s in self.chat}
        chat = (
            _chat(self.chat_id)
            if self.in_group
            else Chat(id=self.user.id, type="private", first_name=self.user.first_name)
        )
        message = Message(
            message_id=next(self._message_ids),
            date=datetime.now(UTC),
            chat=chat,
            from_user=self.user,
            **fields,
        )
        await self.tg.feed(Update(update_id=next(self.tg.updates), message=message))
        return self._new(mark, before)

    def _new(self, mark: int, before: dict[int, Any]) -> list[Sent]:
        # By id, not position: a message the bot deleted shifts the positions.
        edited = [
            s
            for s in self.chat
            if s.message_id in before and before[s.message_id] != (s.text, s.markup)
        ]
        fresh = [s for s in self.chat if s.message_id not in before]
        for sent in [*edited, *fresh]:
            self._log(_shown(sent, edited=sent in edited))
        return [*edited, *fresh]

    def _button(self, wanted: str, message: Sent | None) -> tuple[Sent, str]:
        for sent in [message] if message else reversed(self.chat):
            for text, data in sent.buttons():
                if wanted in (text, data):
                    return sent, data
        raise AssertionError(f"no button {wanted!r}; last message: {self.chat[-1:]}")

    @staticmethod
    def _label(sent: Sent, data: str) -> str:
        return next(text for text, d in sent.buttons() if d == data)

    def _log(self, line: str) -> None:
        if self.in_group:
            # A group has many voices: say whose, and which chat the bot's lines are in.
            if line.startswith("👤"):
                line = f"👤 {self.user.first_name}:" + line[1:]
            else:
                line = f"[{self.chat_id}] {line}"
        self.tg.transcript.append(line)


def _shown(sent: Sent, *, edited: bool) -> str:
    verb = "✏️" if edited else "🤖"
    shown = sent.plain if sent.kind == "text" else f"[{sent.kind}] {sent.plain}"
    line = f"{verb} {shown}"
    if sent.buttons():
        line += "\n   " + " ".join(f"[{text}]" for text, _ in sent.buttons())
    if sent.keys():
        line += "\n   keyboard: " + " ".join(f"[{k}]" for k in sent.keys())  # noqa: SIM118
    if isinstance(sent.markup, ForceReply):
        line += "\n   (force reply)"
    return line
