"""Ids from outside that no row can have, and unreadable updates, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories.dead_letters import DeadLetterRepository
from storage.store import Store
from tests.world import build_world

# Beyond 32 bits (suggestions, points, ...: INTEGER on PostgreSQL), beyond 64 bits
# (asyncpg and SQLite both refuse those), and their negative counterparts.
OUT_OF_RANGE = [2**31, 2**63 - 1, 2**63, 2**70, -(2**31) - 1, -(2**63) - 1, -(2**80)]


@pytest.mark.parametrize("item_id", OUT_OF_RANGE)
async def test_an_id_no_row_can_have_is_simply_not_found(
    sessions: async_sessionmaker[AsyncSession], item_id: int
) -> None:
    await build_world(sessions)
    async with sessions() as session, session.begin():
        store = Store(session)
        assert await store.suggestions.get(item_id) is None
        assert await store.points.get(item_id) is None
        assert await store.cards.get(item_id) is None
        assert await store.users.get(item_id) is None
        # The transaction is still good for the next statement.
        assert await store.points.get(1) is not None


async def test_an_unreadable_update_is_recorded_once_per_bot(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        letters = DeadLetterRepository(session)
        assert await letters.count() == 0
        assert await letters.record(42, 7, "message", "message.poll.id: missing") is True
        assert await letters.record(42, 7, "message", "message.poll.id: missing") is False
        assert await letters.record(43, 7, "poll", "poll.id: missing") is True
    async with sessions() as session, session.begin():
        letters = DeadLetterRepository(session)
        assert await letters.record(42, 7, "message", "again") is False
        assert await letters.count() == 2
