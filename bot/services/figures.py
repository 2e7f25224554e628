"""The office's figures for a period: statistics, the notable items, the export's rows.

Counting happens in the database (grouped counts), the arithmetic in
``bot.domain.figures``; only the days to a first decision are worked out here, one item
at a time, because they are working days by the office's calendar. Rows for the
workbook are streamed, a partition at a time, so a year of a busy city fits in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.calendar import local_date
from bot.domain.figures import (
    Cell,
    DepartmentCell,
    FigureInputs,
    Figures,
    ObserverCell,
    ObserverRow,
    PlaceRow,
    compute,
    median,
)
from bot.domain.names import Name
from bot.domain.offices import OfficeInfo
from bot.domain.periods import Period, parse_period, utc_midnight
from bot.domain.permissions import Manage, require_manage
from bot.domain.statuses import (
    FocusDomain,
    ObserverStatus,
    RatingValue,
    SuggestionKind,
    SuggestionStatus,
)
from bot.services.actors import Actor
from bot.services.context import Service
from bot.services.dead_letters import count_unreadable
from storage.scope import lift_office_limit, limit_to_office, office_limit

# Kept apart: a busy district's list of notable items would crowd the report.
NOTABLE_MAX = 10


@dataclass(frozen=True, slots=True)
class NotableItem:
    """An adopted item that was implemented: what the annual report tells of."""

    id: int
    reference: str
    title: str
    domain: FocusDomain
    department: str | None
    implemented_at: datetime
    rating: RatingValue | None
    report: str | None  # the department's words when it marked the item implemented


# Every time zone's offset is a whole number of quarter hours, so all moments in one
# quarter hour of UTC fall on the same local date.
_QUARTER_HOUR = 900


def _local_days(tz: ZoneInfo) -> Callable[[datetime], date]:
    """``local_date`` remembered per quarter hour: a year's decisions fall in a few
    thousand of them, and a million time-zone conversions cost seconds."""
    seen: dict[int, date] = {}

    def local_day(moment: datetime) -> date:
        bucket = int(moment.timestamp()) // _QUARTER_HOUR
        day = seen.get(bucket)
        if day is None:
            day = seen[bucket] = local_date(moment, tz)
        return day

    return local_day


@dataclass(frozen=True, slots=True)
class DistrictFigures:
    """One office below (a district), as its office above (the city) compares them."""

    office: OfficeInfo
    figures: Figures
    # Its items reported to the office above in the period, how many that office has
    # answered (or handed back), and its median answer time in working days.
    reported: int
    answered: int
    answer_days: float | None


class FiguresService(Service):
    def period(self, text: str | None) -> Period:
        """The period ``text`` names (``2026``, ``2026-06``, ``2026-Q2``, ``30d``), by
        the office's calendar today; none means this year."""
        return parse_period(text, self.today())

    async def stats(self, actor: Actor, period: Period) -> Figures:
        require_manage(actor.view, Manage.VIEW_FIGURES)
        tz = self.policy.tz
        lo, hi = period.bounds(tz)
        repo = self.store.figures
        month_bounds = [utc_midnight(d, tz) for d in period.month_starts()[1:]]
        cells = [
            Cell(
                SuggestionStatus(status),
                SuggestionStatus(disposition) if disposition else None,
                SuggestionKind(kind),
                FocusDomain(domain),
                point_id,
                int(month),
                int(n),
            )
            for status, disposition, kind, domain, point_id, month, n in await repo.cells(
                lo, hi, month_bounds
            )
        ]
        calendar = await self.calendar()
        spans: dict[tuple[date, date], int] = {}
        days: list[int] = []
        local_day = _local_days(tz)
        async for part in repo.decision_moments(lo, hi):
            for submitted, decided in part:
                key = (local_day(submitted), local_day(decided))
                span = spans.get(key)
                if span is None:
                    span = spans[key] = max(0, calendar.working_days_between(*key))
                days.append(span)
        on_time = await repo.decided_on_time(lo, hi)
        departments = [
            DepartmentCell(d, on, done, late, n)
            for d, on, done, late, n in await repo.department_cells(lo, hi, self.today())
        ]
        observers = [
            ObserverCell(o, filed, adopted, last)
            for o, filed, adopted, last in await repo.observer_cells(lo, hi)
        ]
        return compute(
            FigureInputs(
                period=period,
                cells=cells,
                decision_days=days,
                decided_on_time=on_time.get(True, 0),
                decided_late=on_time.get(False, 0),
                departments_cells=departments,
                ratings=await repo.latest_ratings(lo, hi),
                observer_cells=observers,
                observers=[
                    ObserverRow(i, name, point, ObserverStatus(status), last)
                    for i, name, point, status, last in await repo.observers()
                ],
                points=[_place(*row) for row in await repo.points()],
                departments=[_place(*row) for row in await repo.departments()],
            )
        )

    async def districts(self, actor: Actor, period: Period) -> list[DistrictFigures]:
        """The offices directly below this one (a city's districts), side by side: each
        one's figures as its own group would read them, and what it reported up here.
        Active observers and points are each district's distinct ones, never sums."""
        require_manage(actor.view, Manage.VIEW_FIGURES)
        tree = await self.offices()
        below = tree.children(tree.get(self.policy.office_id))
        if not below:
            return []
        lo, hi = period.bounds(self.policy.tz)
        calendar = await self.calendar()
        local_day = _local_days(self.policy.tz)
        answers: dict[int, list[int]] = {}
        reported: dict[int, int] = {}
        for office_id, at, answered in await self.store.figures.reported_up(
            self.policy.office_id, lo, hi
        ):
            reported[office_id] = reported.get(office_id, 0) + 1
            if answered is not None:
                span = calendar.working_days_between(local_day(at), local_day(answered))
                answers.setdefault(office_id, []).append(max(0, span))
        session = self.store.session
        mine = office_limit(session)
        found = []
        try:
            for office in below:
                # Its figures as its own group reads them: the transaction limited to it.
                limit_to_office(session, office.id)
                policy = replace(self.policy, jurisdiction=office.code, office_id=office.id)
                figures = await FiguresService(self.store, policy, self.clock).stats(actor, period)
                spans = answers.get(office.id, [])
                found.append(
                    DistrictFigures(
                        office, figures, reported.get(office.id, 0), len(spans), median(spans)
                    )
                )
        finally:
            if mine is None:
                lift_office_limit(session)
            else:
                limit_to_office(session, mine)
        return found

    async def unreadable_updates(self, actor: Actor) -> int:
        """How many updates could not be read and were set aside, since the bot began:
        each was something someone sent that the office never saw."""
        require_manage(actor.view, Manage.VIEW_FIGURES)
        return await count_unreadable(self.store)

    async def notable(
        self, actor: Actor, period: Period, limit: int = NOTABLE_MAX
    ) -> list[NotableItem]:
        """The period's implemented items, the best rated and most recent first."""
        require_manage(actor.view, Manage.VIEW_FIGURES)
        lo, hi = period.bounds(self.policy.tz)
        rows = await self.store.figures.notable(lo, hi, limit)
        reports = await self.store.figures.implementation_texts([r[0] for r in rows])
        return [
            NotableItem(
                item_id,
                reference,
                title,
                FocusDomain(domain),
                department,
                implemented_at,
                RatingValue(rating) if rating else None,
                reports.get(item_id),
            )
            for item_id, reference, title, domain, department, implemented_at, rating in rows
        ]

    # ---- the workbook's rows: plain tuples, a partition at a time ------------------------

    @staticmethod
    def _require(actor: Actor) -> None:
        require_manage(actor.view, Manage.VIEW_FIGURES)

    def item_rows(self, actor: Actor, period: Period) -> AsyncIterator[Sequence[Any]]:
        """reference, submitted_at, kind, domain, point code, point name, observer id,
        observer name, title, body, behalf, location, status, disposition, department,
        decision_due, decided_at, decided_on_time, implementation_due, implemented_at,
        implemented_on_time, escalated_to, city_answer_due, duplicate of, closed_at."""
        self._require(actor)
        return self.store.figures.item_rows(*period.bounds(self.policy.tz))

    def event_rows(self, actor: Actor, period: Period) -> AsyncIterator[Sequence[Any]]:
        """reference, created_at, action, actor role, actor user id, from, to, text,
        internal — of the period's items."""
        self._require(actor)
        return self.store.figures.event_rows(*period.bounds(self.policy.tz))

    def rating_rows(self, actor: Actor, period: Period) -> AsyncIterator[Sequence[Any]]:
        """reference, created_at, value, comment — of the period's items."""
        self._require(actor)
        return self.store.figures.rating_rows(*period.bounds(self.policy.tz))

    def rectification_rows(self, actor: Actor) -> AsyncIterator[Sequence[Any]]:
        """id, district, raised by, finding, due, status, raised at, closed at."""
        self._require(actor)
        return self.store.figures.rectification_rows()

    async def any_rectification(self, actor: Actor) -> bool:
        self._require(actor)
        return await self.store.figures.any_rectification()

    def observer_rows(self, actor: Actor) -> AsyncIterator[Sequence[Any]]:
        """id, name, whether a phone number is on file, category, point code, status,
        recommending unit, term start, term end, appointed_at, suspended_at, Telegram
        username, when the observer was anonymised."""
        self._require(actor)
        return self.store.figures.observer_rows()

    def point_rows(self, actor: Actor) -> AsyncIterator[Sequence[Any]]:
        """code, name, domain, host kind, host organisation, town, street, active,
        closed_at, appointed observers."""
        self._require(actor)
        return self.store.figures.point_rows()

    def department_rows(self, actor: Actor) -> AsyncIterator[Sequence[Any]]:
        """code, name, active, active liaisons."""
        self._require(actor)
        return self.store.figures.department_rows()


def _place(id_: int, code: str, name: str, active: bool, name_en: str | None) -> PlaceRow:
    return PlaceRow(id_, code, Name(name, name_en), active)
