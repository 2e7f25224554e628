"""aiogram's FSM storage kept in the project's database, so a draft survives a restart.

During an update the storage writes through the update's own session (bound by the
transaction middleware), so a conversation step and the business change it makes
commit or roll back together. Outside an update it opens a short transaction of its
own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.engine import engine_of, read_sessions, writer
from storage.repositories.updates import ConversationStateRepository

T = TypeVar("T")

# The update's session, while its transaction is open (see DatabaseStorage.bind).
_BOUND: ContextVar[AsyncSession | None] = ContextVar("fsm_session", default=None)


def unbind() -> None:
    """Forget the update's session in this context: work carried out after the update
    committed (its effects) reads and writes in transactions of its own."""
    _BOUND.set(None)


def storage_key(key: StorageKey) -> str:
    parts = (
        key.bot_id,
        key.chat_id,
        key.user_id,
        key.thread_id or "",
        key.business_connection_id or "",
        key.destiny,
    )
    return ":".join(str(part) for part in parts)


class DatabaseStorage(BaseStorage):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._bound = _BOUND
        self._reads = read_sessions(sessions)
        self._writer: AbstractAsyncContextManager[Any] = writer(engine_of(sessions))

    @contextmanager
    def bind(self, session: AsyncSession) -> Iterator[None]:
        """Route this task's reads and writes through ``session`` until the block ends."""
        token = self._bound.set(session)
        try:
            yield
        finally:
            self._bound.reset(token)

    async def _run(
        self, work: Callable[[ConversationStateRepository], Awaitable[T]], *, write: bool = True
    ) -> T:
        session = self._bound.get()
        if session is not None:
            return await work(ConversationStateRepository(session))
        if not write:
            async with self._reads() as own, own.begin():
                return await work(ConversationStateRepository(own))
        # Outside an update (after it committed): a short transaction of its own, in turn
        # with the other writers of this process (SQLite has one writer at a time, and
        # queueing on its busy timeout would sleep in steps of up to 100 ms).
        async with self._sessions() as own, self._writer, own.begin():
            return await work(ConversationStateRepository(own))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state

        async def work(repo: ConversationStateRepository) -> None:
            row = await repo.load(storage_key(key))
            data = dict(row.data) if row is not None else {}
            await self._store(repo, key, value, data)

        await self._run(work)

    async def get_state(self, key: StorageKey) -> str | None:
        async def work(repo: ConversationStateRepository) -> str | None:
            # aiogram asks first thing in every update: the person is read with it.
            row = await repo.load(storage_key(key), user_id=key.user_id)
            return row.state if row is not None else None

        return await self._run(work, write=False)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async def work(repo: ConversationStateRepository) -> None:
            row = await repo.load(storage_key(key))
            await self._store(repo, key, row.state if row is not None else None, dict(data))

        await self._run(work)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async def work(repo: ConversationStateRepository) -> dict[str, Any]:
            row = await repo.load(storage_key(key))
            # A copy: callers mutate what they get before setting it back.
            return dict(row.data) if row is not None else {}

        return await self._run(work, write=False)

    async def modify(
        self, key: StorageKey, change: Callable[[dict[str, Any]], dict[str, Any] | None]
    ) -> bool:
        """Read, change and write the conversation's data in one transaction, the row
        locked meanwhile: work done after an update (remembering the id of a message it
        sent) must not overwrite what a later update of the conversation wrote. ``change``
        returns the new data, or None to leave it. Returns whether it was written.

        ``change`` gets a copy of the data's top level: it may add, replace and remove
        keys, but what the keys hold is shared with what this process remembers of the
        row, so a value is replaced, never changed in place. (A deep copy of a chat's
        record of its prompts cost more than the statement that writes it.)"""

        async def work(repo: ConversationStateRepository) -> bool:
            if self._bound.get() is None:
                # After the update that wrote it: in one statement if it is unchanged.
                done = await repo.change_as_written(storage_key(key), change)
                if done is not None:
                    return done
            row = await repo.load(storage_key(key), lock=True)
            data = dict(row.data) if row is not None else {}
            changed = change(data)
            if changed is None:
                return False
            await self._store(repo, key, row.state if row is not None else None, changed)
            return True

        return await self._run(work)

    async def close(self) -> None:
        """The sessions belong to the application's engine, which closes them."""

    @staticmethod
    async def _store(
        repo: ConversationStateRepository,
        key: StorageKey,
        state: str | None,
        data: dict[str, Any],
    ) -> None:
        # An empty conversation leaves no row behind.
        if state is None and not data:
            await repo.delete(storage_key(key))
        else:
            await repo.save(storage_key(key), state=state, data=data)
