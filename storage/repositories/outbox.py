from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from storage.models import OutboxMessage
from storage.repositories.base import Repository

PENDING, SENT, FAILED = "pending", "sent", "failed"


class OutboxRepository(Repository[OutboxMessage]):
    model = OutboxMessage

    async def due(self, now: datetime, *, limit: int = 100) -> Sequence[OutboxMessage]:
        """Pending rows whose time has come, in the order they were written."""
        stmt = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.state == PENDING, OutboxMessage.not_before <= now)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()
