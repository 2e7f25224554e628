"""One database session and one transaction per update; its effects after the commit.

The conversation lock is taken before the transaction opens and released after it
commits, so two updates from one chat (an album's photos, a double tap) run one after
the other and each sees what the previous one committed.

Within the transaction the handler decides and records; every Bot API call it makes is
collected (``bot.effects``) and carried out by the :class:`~bot.effects.Speaker` once
the transaction has committed, outside every transaction and lock. On SQLite updates
queue for the one writer in this process (``storage.engine.writer``), in arrival order;
since nobody talks to Telegram while holding it, it is held for milliseconds.

A commit that fails because the database is locked, busy, or lost a serialization
race is tried again, the whole update with it, for as long as it takes: the update
stays in hand and nothing is dropped. Someone who waits that long is told once that
what they did is delayed, not lost (a button press gets a "⏳" answer within two
seconds, as Telegram wants an answer). Any other failure runs no effect and goes to
the error handler, which tells the person that nothing changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

import sqlalchemy.exc
from aiogram import BaseMiddleware, Bot
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import ReplyParameters, TelegramObject, Update
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.offices import OfficeInfo
from bot.effects import Effects, Speaker, defer_to_commit
from bot.i18n import N_, locale_for
from storage.engine import writer
from storage.fsm import DatabaseStorage
from storage.models import QUEUED
from storage.scope import limit_to_office
from storage.store import Store

log = logging.getLogger(__name__)

# The services for one transaction, acting for an office (None: in a private chat).
ServiceFactory = Callable[[Store, OfficeInfo | None], dict[str, Any]]

# PostgreSQL: serialization failure, deadlock, lock not available, connection trouble.
_RETRY_STATES = ("40001", "40P01", "55P03", "57P01", "08")
_RETRY_WORDS = ("database is locked", "database is busy", "database table is locked")


def retryable(exc: BaseException) -> bool:
    """Whether a failed transaction is worth trying again as it was."""
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    if any(word in text for word in _RETRY_WORDS):
        return True
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(state, str) and state.startswith(_RETRY_STATES)


class UpdateTransaction(BaseMiddleware):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fsm: FSMContextMiddleware,
        isolation: BaseEventIsolation,
        services: ServiceFactory,
        speaker: Speaker,
        *,
        i18n: I18n | None = None,
        default_locale: str = "zh_CN",
        answer_within: float = 0.7,
        tell_after: float = 10.0,
    ) -> None:
        self._sessions = sessions
        self._fsm = fsm
        self._isolation = isolation
        self._services = services
        self.speaker = speaker
        # Production confirms an update at commit and lets its effects run on; tests and
        # benchmarks wait for them, to see what the update said.
        self.detach = False
        self._i18n = i18n
        self._default_locale = default_locale
        self.answer_within = answer_within
        self.tell_after = tell_after
        # Called after a commit that queued outbox rows (the runtime wakes its sender).
        self.on_queued: Callable[[], None] | None = None
        # People told their message waits: told again only once one has gone through.
        self.waiting: set[tuple[int, int]] = set()
        engine = sessions.kw.get("bind")
        self._one_writer: AbstractAsyncContextManager[Any] = (
            writer(engine) if isinstance(engine, AsyncEngine) else nullcontext()
        )

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        defer_to_commit(bot)
        context = self._fsm.resolve_event_context(bot, data)
        lock: AbstractAsyncContextManager[Any] = (
            self._isolation.lock(context.key) if context is not None else nullcontext()
        )
        waiting = _Waiting(bot, event, self)
        try:
            async with lock:
                result, effects = await self._decide(handler, event, data, waiting)
        finally:
            waiting.cancel()
        if event.message is not None:
            sender = event.message.from_user
            self.waiting.discard((event.message.chat.id, sender.id if sender else 0))
        if effects is None:
            return result
        if waiting.answered:
            effects = waiting.reroute(effects)
        who = data.get("event_from_user")
        done = self.speaker.speak(bot, effects, by=who.id if who is not None else None)
        if not self.detach:
            await done
        return result

    async def _decide(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
        waiting: _Waiting,
    ) -> tuple[Any, Effects | None]:
        """Run the handler in a transaction until it commits; returns its result and
        effects (None: the update was handled before)."""
        tries = 0
        while True:
            effects = Effects()
            attempt = dict(data)
            try:
                async with (
                    self._sessions() as session,
                    self._one_writer,
                    session.begin(),
                ):
                    store = Store(session)
                    if not await store.updates.claim(attempt["bot"].id, event.update_id):
                        log.info("update %s handled by another worker: ignored", event.update_id)
                        return None, None
                    attempt["store"] = store
                    attempt["effects"] = effects
                    office: OfficeInfo | None = attempt.get("office")
                    if office is not None and not attempt.get("office_alone", True):
                        limit_to_office(session, office.id)
                    attempt.update(self._services(store, office))
                    with effects.collecting():
                        storage = self._fsm.storage
                        if isinstance(storage, DatabaseStorage):
                            with storage.bind(session):
                                result = await handler(event, attempt)
                        else:
                            result = await handler(event, attempt)
                if session.info.pop(QUEUED, False) and self.on_queued is not None:
                    self.on_queued()
                return result, effects
            except Exception as exc:
                if not retryable(exc):
                    raise
                tries += 1
                delay = min(2.0, 0.05 * 2**tries) * random.uniform(0.8, 1.2)
                log.warning(
                    "update %s: the database is busy; trying again",
                    event.update_id,
                    extra={"error": f"{type(exc).__name__}: {exc}", "tries": tries},
                )
                waiting.soon()
                await asyncio.sleep(delay)

    def text(self, message: str, event: Update) -> str:
        who = getattr(event.event, "from_user", None)
        locale = locale_for(None, getattr(who, "language_code", None), self._default_locale)
        if self._i18n is None:
            return message
        return self._i18n.gettext(message, locale=locale)


WORKING = N_("⏳ Working on it…")
DELAYED = N_(
    "⏳ The bot is busy right now. What you sent is kept and will be handled in a moment; "
    "nothing is lost."
)


class _Waiting:
    """Tells someone whose update waits (on a busy database) that it is under way:
    a button press is answered within Telegram's patience, a message once."""

    def __init__(self, bot: Bot, event: Update, owner: UpdateTransaction) -> None:
        self._bot = bot
        self._event = event
        self._owner = owner
        self.answered = False
        self._told = False
        self._tasks: list[asyncio.Task[None]] = []
        loop = asyncio.get_running_loop()
        self._timers: list[asyncio.TimerHandle] = []
        if event.callback_query is not None:
            self._timers.append(loop.call_later(owner.answer_within, self._answer))
        elif event.message is not None:
            self._timers.append(loop.call_later(owner.tell_after, self.soon))

    def soon(self) -> None:
        """Tell a person whose message waits, once while they wait (not once for each
        message they send meanwhile)."""
        message = self._event.message
        if message is None or self._told:
            return
        self._told = True
        who = (message.chat.id, message.from_user.id if message.from_user else 0)
        if who in self._owner.waiting:
            return
        self._owner.waiting.add(who)
        text = self._owner.text(DELAYED, self._event)
        self._spawn(
            self._bot.send_message(
                message.chat.id,
                text,
                reply_parameters=ReplyParameters(message_id=message.message_id),
            )
        )

    def _answer(self) -> None:
        query = self._event.callback_query
        if query is None or self.answered:
            return
        self.answered = True
        text = self._owner.text(WORKING, self._event)
        self._spawn(self._bot.answer_callback_query(query.id, text=text))

    def _spawn(self, said: Awaitable[Any]) -> None:
        # A task of its own, made outside the update: the update may hold the writer.
        task = asyncio.get_running_loop().create_task(_quietly(said))
        self._tasks.append(task)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()

    def reroute(self, effects: Effects) -> Effects:
        """The press was answered early with "⏳": the handler's answer can no longer
        go as an answer; an alert it had to give goes as a message in the chat instead
        (a toast only confirms what the card or the reply shows)."""
        query = self._event.callback_query
        kept = Effects()
        for effect in effects.items:
            method = getattr(effect, "method", None)
            if isinstance(method, AnswerCallbackQuery):
                # A toast confirms what the card shows anyway; an alert must be read.
                if method.show_alert and method.text and query and query.message:
                    kept.call(
                        SendMessage(chat_id=query.message.chat.id, text=html.escape(method.text))
                    )
                continue
            kept.items.append(effect)
        return kept


async def _quietly(said: Awaitable[Any]) -> None:
    with contextlib.suppress(Exception):
        await said
