"""One database session and one transaction per update.

The conversation lock is taken before the transaction opens and released after it
commits, so two updates from one chat (an album's photos, a double tap) run one after
the other and each sees what the previous one committed.

SQLite has one writer at a time, and an update's transaction lasts as long as its Bot
API calls; left to SQLite's busy timeout, a burst of updates would fail with "database
is locked". On SQLite, updates therefore queue for the database in this process, in
arrival order, and wait as long as it takes, on the engine's writer lock, which the
outbox sender shares (``storage.engine.writer``). PostgreSQL runs them side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation
from aiogram.types import TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.engine import writer
from storage.fsm import DatabaseStorage
from storage.store import Store

log = logging.getLogger(__name__)

ServiceFactory = Callable[[Store], dict[str, Any]]


class UpdateTransaction(BaseMiddleware):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        fsm: FSMContextMiddleware,
        isolation: BaseEventIsolation,
        services: ServiceFactory,
    ) -> None:
        self._sessions = sessions
        self._fsm = fsm
        self._isolation = isolation
        self._services = services
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
        context = self._fsm.resolve_event_context(bot, data)
        lock: AbstractAsyncContextManager[Any] = (
            self._isolation.lock(context.key) if context is not None else nullcontext()
        )
        async with lock, self._one_writer, self._sessions() as session, session.begin():
            store = Store(session)
            if not await store.updates.claim(bot.id, event.update_id):
                log.info("update %s handled by another worker: ignored", event.update_id)
                return None
            data["store"] = store
            data.update(self._services(store))
            storage = self._fsm.storage
            if isinstance(storage, DatabaseStorage):
                with storage.bind(session):
                    return await handler(event, data)
            return await handler(event, data)
