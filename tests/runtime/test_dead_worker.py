"""A worker started in place of one that died frees what the dead one held: its outbox
rows on lease and the scheduler's lease go again at once, others' are left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.holders import REPLACES_ENV, holder_prefix, new_holder, replaced_pids
from bot.runtime.app import _free_what_the_dead_held
from storage.models import Lease, OutboxMessage

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


async def test_what_the_dead_held_is_freed(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead, alive = holder_prefix(1_000_001) + "aaaa1111", holder_prefix(1_000_002) + "bbbb2222"
    # A pid whose digits continue the dead one's is another process.
    lookalike = holder_prefix(10_000_011) + "cccc3333"
    until = NOW + timedelta(minutes=5)
    async with sessions() as session, session.begin():
        for k, holder in enumerate([dead, dead, alive, lookalike]):
            session.add(
                OutboxMessage(
                    audience="observer",
                    chat_id=500 + k,
                    kind="test",
                    payload={},
                    claimed_by=holder,
                    claimed_until=until,
                )
            )
        session.add(Lease(name="scheduler", holder=dead, expires_at=until))
    monkeypatch.setenv(REPLACES_ENV, "1000001")
    assert replaced_pids() == [1_000_001]

    await _free_what_the_dead_held(sessions, clock)

    async with sessions() as session:
        held = (
            await session.execute(
                sa.select(OutboxMessage.chat_id, OutboxMessage.claimed_by).order_by(
                    OutboxMessage.chat_id
                )
            )
        ).all()
        lease = await session.get(Lease, "scheduler")
    assert held == [(500, None), (501, None), (502, alive), (503, lookalike)]
    assert lease is not None
    assert lease.expires_at.replace(tzinfo=UTC) <= NOW


async def test_nothing_is_freed_outside_a_supervisor(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(REPLACES_ENV, raising=False)
    mine = new_holder()
    async with sessions() as session, session.begin():
        session.add(Lease(name="scheduler", holder=mine, expires_at=NOW + timedelta(minutes=3)))
    await _free_what_the_dead_held(sessions, clock)
    async with sessions() as session:
        lease = await session.get(Lease, "scheduler")
    assert lease is not None
    assert lease.holder == mine
    assert lease.expires_at.replace(tzinfo=UTC) > NOW
