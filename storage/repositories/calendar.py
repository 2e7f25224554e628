from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from bot.domain.statuses import DayKind, SuggestionStatus
from storage.models import CalendarDay, Suggestion
from storage.repositories import calendar_kept
from storage.repositories.base import Repository
from storage.repositories.calendar_kept import Exceptions


class CalendarRepository(Repository[CalendarDay]):
    model = CalendarDay

    async def all(self) -> Sequence[CalendarDay]:
        stmt = sa.select(CalendarDay).order_by(CalendarDay.day)
        return (await self.session.execute(stmt)).scalars().all()

    async def exceptions(self) -> Exceptions:
        """The holidays and the make-up workdays (kept a short while: see
        ``storage.repositories.calendar_kept``)."""
        sync = self.session.sync_session
        found = calendar_kept.kept(sync)
        if found is not None:
            return found
        stmt = sa.select(CalendarDay.day, CalendarDay.kind)
        rows = (await self.session.execute(stmt)).all()
        return calendar_kept.keep(sync, [(day, DayKind(kind)) for day, kind in rows])

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
        calendar_kept.mark_changed(self.session.sync_session)
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

    async def due_years(self, since: date) -> list[int]:
        """The years of the deadlines open items still count towards, from ``since`` on
        (a decision awaited, an implementation or the city's answer), from the earliest
        to the latest of each kind: the calendars the reminders and the overdue figures
        need."""
        s = SuggestionStatus
        pending = (
            ((s.SUBMITTED, s.IN_REVIEW, s.NEEDS_INFO), Suggestion.decision_due),
            ((s.ADOPTED, s.IMPLEMENTING), Suggestion.implementation_due),
            ((s.ESCALATED,), Suggestion.city_answer_due),
        )
        years: set[int] = set()
        for statuses, due in pending:
            stmt = sa.select(sa.func.min(due), sa.func.max(due)).where(
                Suggestion.status.in_(statuses), due >= since
            )
            first, last = (await self.session.execute(stmt)).one()
            if first is not None and last is not None:
                years.update(range(first.year, last.year + 1))
        return sorted(years)
