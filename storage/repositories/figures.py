"""Reading the office's figures from the items themselves: the days at the ends of a
period that its summaries (``storage.repositories.summaries``) do not cover — a ``30d``
period's partial months — and what summaries do not hold (notable items, the reports
to the office above). The export's rows are ``storage.repositories.export_rows``'.

Everything is portable SQL. A period arrives as UTC instants; the month an item falls
in is a CASE over the months' UTC boundaries, so local months (in any time zone, DST
included) need no date functions of either dialect. Expressions with bound parameters
are grouped through a subquery: PostgreSQL does not accept ``GROUP BY`` on a
parameterised expression that is repeated rather than referenced.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.lifecycle import Action
from bot.domain.statuses import RatingValue, SuggestionStatus
from storage.models import (
    Department,
    Event,
    Observer,
    Point,
    Suggestion,
)

S = SuggestionStatus
_OPEN_IN_DEPARTMENT = (S.ADOPTED, S.IMPLEMENTING)


def _in(lo: datetime, hi: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Suggestion.submitted_at >= lo, Suggestion.submitted_at < hi)


def adopted_outcome() -> sa.ColumnElement[bool]:
    """Items the office adopted, whatever happened after (closed ones included): every
    adoption writes the disposition, and migration 0004 filled it for older items."""
    return Suggestion.disposition == S.ADOPTED


class FiguresRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def cells(
        self, lo: datetime, hi: datetime, month_bounds: Sequence[datetime]
    ) -> list[tuple[Any, ...]]:
        """(status, disposition, kind, domain, point_id, month, count) of the period's
        items; ``month_bounds`` are the UTC starts of its months after the first."""
        month: sa.ColumnElement[int]
        if month_bounds:
            month = sa.case(
                *[(Suggestion.submitted_at < b, i) for i, b in enumerate(month_bounds)],
                else_=len(month_bounds),
            )
        else:
            month = sa.literal(0)
        inner = (
            sa.select(
                Suggestion.status,
                Suggestion.disposition,
                Suggestion.kind,
                Suggestion.domain,
                Suggestion.point_id,
                month.label("month"),
            )
            .where(_in(lo, hi))
            .subquery()
        )
        c = inner.c
        stmt = sa.select(
            c.status, c.disposition, c.kind, c.domain, c.point_id, c.month, sa.func.count()
        ).group_by(c.status, c.disposition, c.kind, c.domain, c.point_id, c.month)
        return [tuple(r) for r in (await self.session.execute(stmt)).all()]

    async def reported_up(
        self, above_id: int, lo: datetime, hi: datetime
    ) -> list[tuple[int, datetime, datetime | None]]:
        """Of the items reported to the office ``above_id`` in the period: (the item's
        office, when it was reported, when that office answered or handed it back —
        None while it has not), one row per report."""
        answers = (
            Action.CITY_ADOPT,
            Action.CITY_REFERENCE,
            Action.CITY_DECLINE,
            Action.CITY_RETURN,
        )
        stmt = (
            sa.select(Suggestion.office_id, Event.suggestion_id, Event.action, Event.created_at)
            .join(Event, Event.suggestion_id == Suggestion.id)
            .where(
                Suggestion.above_id == above_id,
                Event.action.in_((Action.ESCALATE, *answers)),
            )
            .order_by(Event.suggestion_id, Event.id)
        )
        found: list[tuple[int, datetime, datetime | None]] = []
        open_report: dict[int, int] = {}  # item -> its unanswered report's row
        for office_id, item_id, action, at in (await self.session.execute(stmt)).all():
            if action == Action.ESCALATE:
                if lo <= at < hi:
                    open_report[item_id] = len(found)
                    found.append((office_id, at, None))
                else:
                    open_report.pop(item_id, None)
            elif item_id in open_report:
                at_row = open_report.pop(item_id)
                office, reported, _none = found[at_row]
                found[at_row] = (office, reported, at)
        return found

    async def department_cells(
        self, lo: datetime, hi: datetime, today: date
    ) -> list[tuple[Any, ...]]:
        """(department_id, implemented_on_time, implemented, overdue, count) of the
        period's adopted items."""
        overdue = sa.case(
            (
                sa.and_(
                    Suggestion.status.in_(_OPEN_IN_DEPARTMENT),
                    Suggestion.implementation_due < today,
                ),
                1,
            ),
            else_=0,
        )
        implemented = sa.case((Suggestion.implemented_at.is_not(None), 1), else_=0)
        inner = (
            sa.select(
                Suggestion.department_id,
                Suggestion.implemented_on_time,
                implemented.label("implemented"),
                overdue.label("overdue"),
            )
            .where(_in(lo, hi), adopted_outcome())
            .subquery()
        )
        c = inner.c
        stmt = sa.select(
            c.department_id, c.implemented_on_time, c.implemented, c.overdue, sa.func.count()
        ).group_by(c.department_id, c.implemented_on_time, c.implemented, c.overdue)
        return [
            (d, on_time, bool(done), bool(late), int(n))
            for d, on_time, done, late, n in (await self.session.execute(stmt)).all()
        ]

    async def latest_ratings(self, lo: datetime, hi: datetime) -> dict[RatingValue, int]:
        """The latest rating of each rated item of the period (kept on the item by a
        trigger), counted by value."""
        stmt = (
            sa.select(Suggestion.rating, sa.func.count())
            .where(_in(lo, hi), Suggestion.rating.is_not(None))
            .group_by(Suggestion.rating)
        )
        rows = (await self.session.execute(stmt)).all()
        return {RatingValue(v): int(n) for v, n in rows if v is not None}

    async def observer_cells(self, lo: datetime, hi: datetime) -> list[tuple[Any, ...]]:
        """(observer_id, filed, adopted, last filed) in the period."""
        adopted = sa.func.sum(sa.case((adopted_outcome(), 1), else_=0))
        stmt = (
            sa.select(
                Suggestion.observer_id,
                sa.func.count(),
                adopted,
                sa.func.max(Suggestion.submitted_at),
            )
            .where(_in(lo, hi))
            .group_by(Suggestion.observer_id)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(o, int(n), int(a or 0), last) for o, n, a, last in rows]

    async def observers(self) -> list[tuple[Any, ...]]:
        """(id, name, point_id, status) of every observer."""
        stmt = sa.select(Observer.id, Observer.name, Observer.point_id, Observer.status).order_by(
            Observer.id
        )
        return [tuple(r) for r in (await self.session.execute(stmt)).all()]

    async def points(self) -> list[tuple[Any, ...]]:
        stmt = sa.select(Point.id, Point.code, Point.name, Point.active, Point.name_en).order_by(
            Point.code
        )
        return [tuple(r) for r in (await self.session.execute(stmt)).all()]

    async def departments(self) -> list[tuple[Any, ...]]:
        stmt = sa.select(
            Department.id, Department.code, Department.name, Department.active, Department.name_en
        ).order_by(Department.code)
        return [tuple(r) for r in (await self.session.execute(stmt)).all()]

    async def notable(self, lo: datetime, hi: datetime, limit: int) -> list[tuple[Any, ...]]:
        """The period's implemented items, best rated and most recent first:
        (id, reference, title, domain, department name, implemented_at, rating)."""
        score = sa.case(
            (Suggestion.rating == RatingValue.SATISFIED, 0),
            (Suggestion.rating == RatingValue.BASICALLY_SATISFIED, 1),
            (Suggestion.rating.is_(None), 2),
            else_=3,
        )
        stmt = (
            sa.select(
                Suggestion.id,
                Suggestion.reference,
                Suggestion.title,
                Suggestion.domain,
                Department.name,
                Suggestion.implemented_at,
                Suggestion.rating,
            )
            .outerjoin(Department, Department.id == Suggestion.department_id)
            .where(_in(lo, hi), adopted_outcome(), Suggestion.implemented_at.is_not(None))
            .order_by(score, Suggestion.implemented_at.desc(), Suggestion.id)
            .limit(limit)
        )
        return [tuple(r) for r in (await self.session.execute(stmt)).all()]

    async def implementation_texts(self, item_ids: Sequence[int]) -> dict[int, str]:
        """The department's report when each item was (last) marked implemented."""
        if not item_ids:
            return {}
        stmt = (
            sa.select(Event.suggestion_id, Event.text)
            .where(
                Event.suggestion_id.in_(item_ids),
                Event.action == "mark_implemented",
                Event.text.is_not(None),
            )
            .order_by(Event.id)
        )
        out: dict[int, str] = {}
        for item_id, text in (await self.session.execute(stmt)).all():
            if text:
                out[item_id] = text
        return out
