from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from storage.models import Broadcast, Card, OutboxMessage
from storage.repositories.base import Repository


class CardRepository(Repository[Card]):
    model = Card

    async def by_message(self, chat_id: int, message_id: int) -> Card | None:
        stmt = sa.select(Card).where(Card.chat_id == chat_id, Card.message_id == message_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of(
        self, subject: str, subject_id: int, *, chat_id: int | None = None
    ) -> Sequence[Card]:
        """A subject's cards, oldest first (in one chat, if given)."""
        stmt = sa.select(Card).where(Card.subject == subject, Card.subject_id == subject_id)
        if chat_id is not None:
            stmt = stmt.where(Card.chat_id == chat_id)
        return (await self.session.execute(stmt.order_by(Card.id))).scalars().all()

    async def due(self, now: datetime, limit: int) -> Sequence[Card]:
        """Cards whose re-sync has come, the longest waiting first."""
        stmt = (
            sa.select(Card)
            .where(Card.resync_at.is_not(None), Card.resync_at <= now)
            .order_by(Card.resync_at, Card.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()


class BroadcastRepository(Repository[Broadcast]):
    model = Broadcast

    async def tally(self, broadcast_id: int) -> dict[str, int]:
        """How many of the broadcast's outbox rows are in each state."""
        stmt = (
            sa.select(OutboxMessage.state, sa.func.count())
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .group_by(OutboxMessage.state)
        )
        return {state: int(n) for state, n in (await self.session.execute(stmt)).all()}
