"""Rectifications (``bot.domain.rectifications``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from bot.domain.rectifications import OPEN
from storage.models import Rectification
from storage.repositories.base import Repository


class RectificationRepository(Repository[Rectification]):
    model = Rectification

    async def open(self) -> Sequence[Rectification]:
        """Those not closed, the soonest due first (an office's, by its limit)."""
        stmt = (
            sa.select(Rectification)
            .where(Rectification.status.in_(sorted(OPEN)))
            .order_by(Rectification.due, Rectification.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def overdue(self, today: date) -> Sequence[Rectification]:
        stmt = (
            sa.select(Rectification)
            .where(Rectification.status.in_(sorted(OPEN)), Rectification.due < today)
            .order_by(Rectification.due, Rectification.id)
        )
        return (await self.session.execute(stmt)).scalars().all()
