"""Reading the figures' summaries (``storage.figure_triggers``): a few thousand rows
whatever the number of items.

Months are yyyymm and days yyyymmdd, local to the office; the sentinels of the keys
(0, ``''``, -1, 1970-01-01) are turned back into None here. A period's whole months are
read from here; the days at its ends (a ``30d`` period's) from the items themselves, by
``FiguresRepository``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.figure_triggers import NO_DATE, rating_recount_statement, recount_statements
from storage.models import (
    FigureDecisions,
    FigureDepartments,
    FigureDomains,
    FigureKinds,
    FigureObservers,
    FigurePoints,
    FigureRatings,
    Suggestion,
)

_NO_DATE = date.fromisoformat(NO_DATE)


def _flag(value: int) -> bool | None:
    return None if value < 0 else bool(value)


class SummaryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _counted(self, table: Any, first: int, last: int, *keys: Any) -> list[Any]:
        """Items of the months ``first``..``last`` (yyyymm, inclusive), counted by ``keys``
        of a summary ``table``."""
        stmt = (
            sa.select(*keys, sa.func.sum(table.n))
            .where(table.month >= first, table.month <= last)
            .group_by(*keys)
            .having(sa.func.sum(table.n) > 0)
        )
        return list((await self.session.execute(stmt)).all())

    async def by_point(
        self, first: int, last: int
    ) -> list[tuple[int | None, str, str | None, int]]:
        """(point_id, status, disposition, count)."""
        t = FigurePoints
        rows = await self._counted(t, first, last, t.point_id, t.status, t.disposition)
        return [(p or None, status, d or None, int(n)) for p, status, d, n in rows]

    async def by_month(self, first: int, last: int) -> list[tuple[int, str, str | None, int]]:
        """(yyyymm, status, disposition, count)."""
        t = FigurePoints
        rows = await self._counted(t, first, last, t.month, t.status, t.disposition)
        return [(m, status, d or None, int(n)) for m, status, d, n in rows]

    async def by_domain(self, first: int, last: int) -> list[tuple[str, str, str | None, int]]:
        """(domain, status, disposition, count)."""
        t = FigureDomains
        rows = await self._counted(t, first, last, t.domain, t.status, t.disposition)
        return [(domain, status, d or None, int(n)) for domain, status, d, n in rows]

    async def by_kind(self, first: int, last: int) -> dict[str, int]:
        t = FigureKinds
        return {k: int(n) for k, n in await self._counted(t, first, last, t.kind)}

    async def ratings(self, first: int, last: int) -> dict[str, int]:
        """The latest rating of the months' rated items, counted by value."""
        t = FigureRatings
        return {v: int(n) for v, n in await self._counted(t, first, last, t.rating)}

    async def decisions(self, first: int, end: int) -> list[tuple[int, int, bool | None, int]]:
        """(filed day, decided day or 0, decided on time, count) of the items filed from
        day ``first`` to before day ``end`` that were decided or have an on-time flag."""
        t = FigureDecisions
        keys = (t.submitted_day, t.decided_day, t.on_time)
        stmt = (
            sa.select(*keys, sa.func.sum(t.n))
            .where(t.submitted_day >= first, t.submitted_day < end)
            .group_by(*keys)
            .having(sa.func.sum(t.n) > 0)
        )
        return [
            (filed, decided, _flag(on_time), int(n))
            for filed, decided, on_time, n in (await self.session.execute(stmt)).all()
        ]

    async def department_cells(self, first: int, last: int, today: date) -> list[tuple[Any, ...]]:
        """(department_id, implemented_on_time, implemented, overdue, count) of the months'
        adopted items; overdue: still open, and past its due date today."""
        t = FigureDepartments
        overdue = sa.case(
            (sa.and_(t.open_due > _NO_DATE, t.open_due < today), 1),
            else_=0,
        )
        inner = (
            sa.select(t.department_id, t.on_time, t.implemented, overdue.label("overdue"), t.n)
            .where(t.month >= first, t.month <= last)
            .subquery()
        )
        c = inner.c
        stmt = (
            sa.select(c.department_id, c.on_time, c.implemented, c.overdue, sa.func.sum(c.n))
            .group_by(c.department_id, c.on_time, c.implemented, c.overdue)
            .having(sa.func.sum(c.n) > 0)
        )
        return [
            (department or None, _flag(on_time), bool(done), bool(late), int(n))
            for department, on_time, done, late, n in (await self.session.execute(stmt)).all()
        ]

    async def observer_cells(self, first: int, last: int) -> list[tuple[Any, ...]]:
        """(observer_id, filed, adopted, last filed) in the months."""
        t = FigureObservers
        stmt = (
            sa.select(
                t.observer_id, sa.func.sum(t.filed), sa.func.sum(t.adopted), sa.func.max(t.last_at)
            )
            .where(t.month >= first, t.month <= last, t.filed > 0)
            .group_by(t.observer_id)
        )
        return [
            (o, int(n), int(a or 0), last_at)
            for o, n, a, last_at in (await self.session.execute(stmt)).all()
        ]

    async def last_filed(self) -> dict[int, datetime]:
        """When each observer last filed, ever."""
        t = FigureObservers
        stmt = (
            sa.select(t.observer_id, sa.func.max(t.last_at))
            .where(t.filed > 0)
            .group_by(t.observer_id)
        )
        return {int(o): at for o, at in (await self.session.execute(stmt)).all()}

    async def rebuild(self, day_of: Callable[[datetime], int]) -> tuple[int, int]:
        """Every item's local days worked out again by ``day_of`` (where they differ),
        its latest rating written again, and every summary counted again from the items:
        (items, items whose days were corrected)."""
        if self.session.get_bind().dialect.name == "postgresql":
            # Moves wait until the count is done: a move's trigger meeting the summary's
            # rows half rewritten would lose its change.
            await self.session.execute(sa.text("LOCK TABLE suggestions, ratings IN SHARE MODE"))
        table = sa.table(
            "suggestions",
            *(sa.column(n) for n in ("id", "submitted_day", "decided_day")),
        )
        s = Suggestion.__table__.c
        read = sa.select(s.id, s.submitted_at, s.decided_at, s.submitted_day, s.decided_day)
        wrong: list[dict[str, Any]] = []
        items = 0
        result = await self.session.stream(read.execution_options(yield_per=5000))
        async for part in result.partitions():
            for item_id, filed, decided, filed_day, decided_day in part:
                items += 1
                days = (day_of(filed), None if decided is None else day_of(decided))
                if days != (filed_day, decided_day):
                    wrong.append({"item": item_id, "filed": days[0], "decided": days[1]})
        if wrong:
            await self.session.execute(
                sa.update(table)
                .where(table.c.id == sa.bindparam("item"))
                .values(submitted_day=sa.bindparam("filed"), decided_day=sa.bindparam("decided")),
                wrong,
            )
        await self.session.execute(sa.text(rating_recount_statement()))
        for statement in recount_statements():
            await self.session.execute(sa.text(statement))
        return items, len(wrong)
