from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from storage.models import OutboxMessage
from storage.repositories.base import Repository


class OutboxRepository(Repository[OutboxMessage]):
    model = OutboxMessage

    async def pending(self, *, limit: int = 100) -> Sequence[OutboxMessage]:
        stmt = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.state == "pending")
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def for_chat(self, chat_id: int) -> Sequence[OutboxMessage]:
        stmt = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id)
            .order_by(OutboxMessage.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def for_audience(self, audience: str) -> Sequence[OutboxMessage]:
        stmt = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.audience == audience)
            .order_by(OutboxMessage.id)
        )
        return (await self.session.execute(stmt)).scalars().all()
