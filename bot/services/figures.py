"""The office's figures for a period: statistics, the notable items, the export's rows.

Counting happens in the database (grouped counts), the arithmetic in
``bot.domain.figures``; only the days to a first decision are worked out here, one item
at a time, because they are working days by the office's calendar. Rows for the
workbook are streamed, a partition at a time, so a year of a busy city fits in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.calendar import day_number, from_day_number, local_date
from bot.domain.figures import (
    Cell,
    DepartmentCell,
    FigureInputs,
    Figures,
    Margins,
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
from storage.repositories.summaries import SummaryRepository
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
        """The period's figures: its whole months from the summaries the database keeps,
        the days at its ends (a ``30d`` period's) from the items themselves."""
        require_manage(actor.view, Manage.VIEW_FIGURES)
        tz = self.policy.tz
        month_index = {y * 100 + m: i for i, (y, m) in enumerate(period.months())}
        month_bounds = [utc_midnight(d, tz) for d in period.month_starts()[1:]]
        today = self.today()
        cells: list[tuple[Any, ...]] = []
        margins = Margins()
        ratings: Counter[str] = Counter()
        departments: list[tuple[Any, ...]] = []
        observers: dict[int, ObserverCell] = {}
        summaries, items = self.store.summaries, self.store.figures
        whole = period.whole_months()
        if whole is not None:
            first, last = _month_number(whole[0]), _month_number(whole[1] - timedelta(days=1))
            margins = await _margins(summaries, first, last, month_index)
            ratings.update(await summaries.ratings(first, last))
            departments += await summaries.department_cells(first, last, today)
            _add_observers(observers, await summaries.observer_cells(first, last))
        for lo_day, hi_day in period.edges():
            lo, hi = utc_midnight(lo_day, tz), utc_midnight(hi_day, tz)
            cells += await items.cells(lo, hi, month_bounds)
            ratings.update(await items.latest_ratings(lo, hi))
            departments += await items.department_cells(lo, hi, today)
            _add_observers(observers, await items.observer_cells(lo, hi))
        spans, on_time = await self._decisions(period)
        last_filed = await summaries.last_filed()
        return compute(
            FigureInputs(
                period=period,
                cells=[
                    Cell(
                        SuggestionStatus(status),
                        SuggestionStatus(disposition) if disposition else None,
                        SuggestionKind(kind),
                        FocusDomain(domain),
                        point_id,
                        int(month),
                        int(n),
                    )
                    for status, disposition, kind, domain, point_id, month, n in cells
                ],
                margins=margins,
                decision_day_counts=spans,
                decided_on_time=on_time[True],
                decided_late=on_time[False],
                departments_cells=[DepartmentCell(*row) for row in departments],
                ratings={RatingValue(v): n for v, n in ratings.items() if n},
                observer_cells=list(observers.values()),
                observers=[
                    ObserverRow(i, name, point, ObserverStatus(status), last_filed.get(i))
                    for i, name, point, status in await items.observers()
                ],
                points=[_place(*row) for row in await items.points()],
                departments=[_place(*row) for row in await items.departments()],
            )
        )

    async def _decisions(self, period: Period) -> tuple[Counter[int], Counter[bool]]:
        """How many of the period's items took each number of working days to a first
        decision, by the calendar as it is now; and how many were decided on time, late."""
        calendar = await self.calendar()
        spans: Counter[int] = Counter()
        on_time: Counter[bool] = Counter()
        decisions = await self.store.summaries.decisions(
            day_number(period.start), day_number(period.end)
        )
        for filed, decided, timely, n in decisions:
            if decided:
                between = calendar.working_days_between(
                    from_day_number(filed), from_day_number(decided)
                )
                spans[max(0, between)] += n
            if timely is not None:
                on_time[timely] += n
        return spans, on_time

    async def rebuild(self) -> tuple[int, int]:
        """The summaries counted again from the items, and each item's local days worked
        out again in the office's time zone (after TIMEZONE changed, or a repair by
        hand): (items, items whose days were corrected). The operator's
        (``outpost figures --rebuild``), not a group's."""
        local_day = _local_days(self.policy.tz)
        return await self.store.summaries.rebuild(lambda moment: day_number(local_day(moment)))

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


async def _margins(
    summaries: SummaryRepository, first: int, last: int, month_index: dict[int, int]
) -> Margins:
    """The months ``first``..``last`` of the period (yyyymm) as the summaries count them."""

    def status(value: str) -> SuggestionStatus:
        return SuggestionStatus(value)

    def decided(value: str | None) -> SuggestionStatus | None:
        return SuggestionStatus(value) if value else None

    return Margins(
        points={
            (p, status(s), decided(d)): n for p, s, d, n in await summaries.by_point(first, last)
        },
        months={
            (month_index[m], status(s), decided(d)): n
            for m, s, d, n in await summaries.by_month(first, last)
            if m in month_index
        },
        domains={
            (FocusDomain(f), status(s), decided(d)): n
            for f, s, d, n in await summaries.by_domain(first, last)
        },
        kinds={SuggestionKind(k): n for k, n in (await summaries.by_kind(first, last)).items()},
    )


def _month_number(day: date) -> int:
    return day.year * 100 + day.month


def _add_observers(found: dict[int, ObserverCell], rows: Sequence[tuple[Any, ...]]) -> None:
    """Observers' activity of one more stretch of the period, added to what was found."""
    for observer_id, filed, adopted, last in rows:
        seen = found.get(observer_id)
        if seen is not None:
            filed, adopted = filed + seen.filed, adopted + seen.adopted
            if seen.last_filed is not None and (last is None or seen.last_filed > last):
                last = seen.last_filed
        found[observer_id] = ObserverCell(observer_id, filed, adopted, last)


def _place(id_: int, code: str, name: str, active: bool, name_en: str | None) -> PlaceRow:
    return PlaceRow(id_, code, Name(name, name_en), active)
