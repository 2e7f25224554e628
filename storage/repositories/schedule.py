"""The scheduler's bookkeeping: who runs it now (a lease), and what it has sent.

Both work by single statements that the database serialises (an UPDATE with a
condition, an INSERT under a unique key), so two processes asking at the same moment
get one yes and one no on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lease, ReminderSent
from storage.repositories.base import table_of


class LeaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def acquire(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew ``name`` for ``holder`` until ``now + ttl``; False while someone
        else holds an unexpired lease."""
        table = table_of(Lease)
        renew = (
            sa.update(table)
            .where(
                table.c.name == name,
                sa.or_(table.c.holder == holder, table.c.expires_at <= now),
            )
            .values(holder=holder, expires_at=now + ttl)
        )
        if (await self.session.execute(renew)).rowcount:  # type: ignore[attr-defined]
            return True
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    sa.insert(table).values(name=name, holder=holder, expires_at=now + ttl)
                )
        except IntegrityError:
            return False  # someone else holds it (or took it a moment ago)
        return True

    async def release(self, name: str, holder: str, now: datetime) -> None:
        """Let another process take ``name`` at once, if ``holder`` still has it."""
        table = table_of(Lease)
        await self.session.execute(
            sa.update(table)
            .where(table.c.name == name, table.c.holder == holder)
            .values(expires_at=now)
        )

    async def release_held_by(self, holders: str, now: datetime) -> int:
        """Let another process take at once every lease whose holder starts with
        ``holders`` (a process known to be dead); returns how many."""
        table = table_of(Lease)
        result = await self.session.execute(
            sa.update(table)
            .where(table.c.holder.startswith(holders, autoescape=True), table.c.expires_at > now)
            .values(expires_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def holder(self, name: str, now: datetime) -> str | None:
        row = await self.session.get(Lease, name)
        return row.holder if row is not None and row.expires_at > now else None


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, kind: str, key: str, now: datetime) -> bool:
        """Record that ``kind``/``key`` is being sent; False if it was sent before.

        The caller queues the message in the same transaction: both commit, or neither.
        """
        if await self.sent(kind, key):
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(ReminderSent(kind=kind, key=key, sent_at=now))
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def sent(self, kind: str, key: str) -> bool:
        stmt = sa.select(ReminderSent.id).where(ReminderSent.kind == kind, ReminderSent.key == key)
        return (await self.session.execute(stmt)).first() is not None
