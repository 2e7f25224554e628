from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from bot.domain.statuses import DayKind
from storage.models import CalendarDay
from storage.repositories.base import Repository


class CalendarRepository(Repository[CalendarDay]):
    model = CalendarDay

    async def all(self) -> Sequence[CalendarDay]:
        stmt = sa.select(CalendarDay).order_by(CalendarDay.day)
        return (await self.session.execute(stmt)).scalars().all()

    async def put(self, day: date, kind: DayKind, name: str = "") -> CalendarDay:
        row = await self.get(day)
        if row is None:
            row = CalendarDay(day=day, kind=kind, name=name)
            self.session.add(row)
        else:
            row.kind, row.name = kind, name
        await self.session.flush()
        return row

    async def between(self, first: date, end: date) -> Sequence[CalendarDay]:
        """The days in [first, end), in order."""
        stmt = (
            sa.select(CalendarDay)
            .where(CalendarDay.day >= first, CalendarDay.day < end)
            .order_by(CalendarDay.day)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def clear(self, first: date, end: date) -> int:
        """Forget the days in [first, end); returns how many there were."""
        stmt = sa.delete(CalendarDay).where(CalendarDay.day >= first, CalendarDay.day < end)
        result = await self.session.execute(stmt)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def remove(self, day: date) -> bool:
        row = await self.get(day)
        if row is None:
            return False
        await self.session.delete(row)
        await self.session.flush()
        return True
