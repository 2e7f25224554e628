"""Updates that could not be read (dead letters): recorded for the office to count.

Recorded in a transaction of their own, outside any update's: an unreadable update has
no person, no chat and no handler, only its id, its type and why it failed.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.engine import engine_of, writer
from storage.repositories.dead_letters import DeadLetterRepository
from storage.store import Store


async def record_unreadable(
    sessions: async_sessionmaker[AsyncSession], bot_id: int, update_id: int, kind: str, error: str
) -> bool:
    """Record an unreadable update; False if it was recorded before."""
    async with sessions() as session, writer(engine_of(sessions)), session.begin():
        return await DeadLetterRepository(session).record(bot_id, update_id, kind, error)


async def count_unreadable(store: Store) -> int:
    """How many updates could not be read, since the bot began."""
    return await DeadLetterRepository(store.session).count()
