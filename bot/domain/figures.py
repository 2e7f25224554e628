"""The office's figures (述、考、评): what a period's items came to, computed from counts.

The storage layer hands over grouped counts and a few per-item facts; everything here
is arithmetic on them, so the numbers can be checked against a table worked out by
hand. A period selects the items *filed* in it (the cohort), and each is counted by
where it stands now: "adopted" in the 2026 figures means adopted of those filed in 2026.

Definitions the office can quote:

- **outcome**: what the office decided, whatever happened after — an item adopted and
  since implemented and closed is "adopted"; one still awaiting a first decision
  (submitted, under review, asked for more information) is "pending".
- **adoption rate**: adopted ÷ decided, where decided means an outcome other than
  pending and withdrawn (an item still with the city counts as decided: the office
  judged it).
- **days to first decision**: working days from filing to the first decision, by the
  office's calendar; median and 90th percentile (nearest rank).
- **on-time decision rate**: of the first decisions made, those made by the deadline.
- **implementation on-time rate**, per department: of the implemented items, those
  implemented by their due date.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from bot.domain.periods import Period
from bot.domain.statuses import (
    FocusDomain,
    ObserverStatus,
    RatingValue,
    SuggestionKind,
    SuggestionStatus,
)

S = SuggestionStatus
K = TypeVar("K")


class Outcome(StrEnum):
    PENDING = "pending"
    ADOPTED = "adopted"
    REFERENCE = "reference"
    DECLINED = "declined"
    ESCALATED = "escalated"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"


# The order charts stack them in and tables list them.
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
_AWAITING = frozenset({S.SUBMITTED, S.IN_REVIEW, S.NEEDS_INFO})
_ADOPTED = frozenset({S.ADOPTED, S.IMPLEMENTING, S.IMPLEMENTED})
# A decision (an item's disposition) and the outcome it is.
_DISPOSITION = {
    S.ADOPTED: Outcome.ADOPTED,
    S.REFERENCE: Outcome.REFERENCE,
    S.DECLINED: Outcome.DECLINED,
    S.DUPLICATE: Outcome.DUPLICATE,
    S.ESCALATED: Outcome.ESCALATED,
}
DECIDED_OUTCOMES = frozenset(OUTCOMES) - {Outcome.PENDING, Outcome.WITHDRAWN}


def outcome_of(status: SuggestionStatus, disposition: SuggestionStatus | None) -> Outcome:
    """The outcome of an item in ``status`` whose latest decision was ``disposition``."""
    if status in _AWAITING:
        return Outcome.PENDING
    if status in _ADOPTED:
        return Outcome.ADOPTED
    if status is S.WITHDRAWN:
        return Outcome.WITHDRAWN
    if status in _DISPOSITION:
        return _DISPOSITION[status]
    # Closed: only the decision tells what it was. Items close from an outcome, so a
    # closed item without one is a gap in old data; it counts as the office's reference.
    return _DISPOSITION.get(disposition, Outcome.REFERENCE) if disposition else Outcome.REFERENCE


# ---- what storage hands over -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """How many items of the period share these facts."""

    status: SuggestionStatus
    disposition: SuggestionStatus | None
    kind: SuggestionKind
    domain: FocusDomain
    point_id: int | None
    month: int  # index into Period.months()
    count: int


# An outcome as stored: the status and the latest decision.
Decided = tuple[SuggestionStatus, SuggestionStatus | None]


@dataclass(frozen=True, slots=True)
class Margins:
    """How many items there are, counted one way at a time, each with where it stands:
    per point, per month (an index into Period.months()), per domain; and per kind.
    What the database's summaries give; :class:`Cell` rows add up to the same."""

    points: Mapping[tuple[int | None, SuggestionStatus, SuggestionStatus | None], int] = field(
        default_factory=dict
    )
    months: Mapping[tuple[int, SuggestionStatus, SuggestionStatus | None], int] = field(
        default_factory=dict
    )
    domains: Mapping[tuple[FocusDomain, SuggestionStatus, SuggestionStatus | None], int] = field(
        default_factory=dict
    )
    kinds: Mapping[SuggestionKind, int] = field(default_factory=dict)

    @classmethod
    def of(cls, cells: Iterable[Cell]) -> Margins:
        points: Counter[tuple[int | None, SuggestionStatus, SuggestionStatus | None]] = Counter()
        months: Counter[tuple[int, SuggestionStatus, SuggestionStatus | None]] = Counter()
        domains: Counter[tuple[FocusDomain, SuggestionStatus, SuggestionStatus | None]] = Counter()
        kinds: Counter[SuggestionKind] = Counter()
        for c in cells:
            points[(c.point_id, c.status, c.disposition)] += c.count
            months[(c.month, c.status, c.disposition)] += c.count
            domains[(c.domain, c.status, c.disposition)] += c.count
            kinds[c.kind] += c.count
        return cls(points, months, domains, kinds)

    def plus(self, other: Margins) -> Margins:
        return Margins(
            _added(self.points, other.points),
            _added(self.months, other.months),
            _added(self.domains, other.domains),
            _added(self.kinds, other.kinds),
        )


def _added(a: Mapping[K, int], b: Mapping[K, int]) -> dict[K, int]:
    out = dict(a)
    for key, n in b.items():
        out[key] = out.get(key, 0) + n
    return out


@dataclass(frozen=True, slots=True)
class DepartmentCell:
    """Adopted items of the period assigned to a department, by how implementation went."""

    department_id: int | None
    implemented_on_time: bool | None
    implemented: bool
    overdue: bool  # open, and past its due date today
    count: int


@dataclass(frozen=True, slots=True)
class ObserverCell:
    observer_id: int
    filed: int
    adopted: int
    last_filed: datetime | None  # in the period


@dataclass(frozen=True, slots=True)
class ObserverRow:
    id: int
    name: str
    point_id: int | None
    status: ObserverStatus
    last_filed: datetime | None  # ever


@dataclass(frozen=True, slots=True)
class PlaceRow:
    id: int
    code: str
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class FigureInputs:
    period: Period
    cells: Sequence[Cell] = ()
    # Counted one way at a time (the summaries'); added to what ``cells`` count.
    margins: Margins = field(default_factory=Margins)
    # Working days from filing to the first decision, one per decided item; or, as the
    # summaries give them, how many items took each number of days (both are counted).
    decision_days: Sequence[int] = ()
    decision_day_counts: Mapping[int, int] = field(default_factory=dict)
    # How many first decisions were on time / late (items without a deadline aside).
    decided_on_time: int = 0
    decided_late: int = 0
    departments_cells: Sequence[DepartmentCell] = ()
    # The latest rating of each rated item of the period.
    ratings: Mapping[RatingValue, int] = field(default_factory=dict)
    observer_cells: Sequence[ObserverCell] = ()
    observers: Sequence[ObserverRow] = ()
    points: Sequence[PlaceRow] = ()
    departments: Sequence[PlaceRow] = ()


# ---- what the office reads ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rate:
    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None

    @property
    def percent(self) -> float | None:
        return None if self.whole == 0 else round(100 * self.part / self.whole, 1)


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int
    outcomes: Mapping[Outcome, int]

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


@dataclass(frozen=True, slots=True)
class PointFigures:
    point_id: int | None
    code: str
    name: str
    active: bool
    observers: int  # appointed now
    items: int
    adopted: int
    outcomes: Mapping[Outcome, int]


@dataclass(frozen=True, slots=True)
class DepartmentFigures:
    department_id: int | None
    code: str
    name: str
    assigned: int
    implemented: int
    on_time: Rate
    overdue: int


@dataclass(frozen=True, slots=True)
class ObserverActivity:
    observer_id: int
    name: str
    point_code: str
    filed: int
    adopted: int
    last_filed: datetime | None


@dataclass(frozen=True, slots=True)
class Figures:
    period: Period
    total: int
    by_status: Mapping[SuggestionStatus, int]
    by_outcome: Mapping[Outcome, int]
    by_kind: Mapping[SuggestionKind, int]
    by_domain: Mapping[FocusDomain, int]
    domain_outcomes: Mapping[FocusDomain, Mapping[Outcome, int]]
    months: Sequence[Month]
    points: Sequence[PointFigures]
    adoption: Rate
    decision_median: float | None
    decision_p90: int | None
    decisions: int
    decided_on_time: Rate
    departments: Sequence[DepartmentFigures]
    implemented: int
    implemented_on_time: Rate
    satisfaction: Mapping[RatingValue, int]
    active_observers: Sequence[ObserverActivity]
    idle_observers: Sequence[ObserverActivity]
    appointed_observers: int
    active_points: int

    @property
    def decided(self) -> int:
        return self.adoption.whole

    @property
    def adopted(self) -> int:
        return self.by_outcome.get(Outcome.ADOPTED, 0)

    @property
    def rated(self) -> int:
        return sum(self.satisfaction.values())

    @property
    def satisfied(self) -> Rate:
        """Satisfied or basically satisfied, of the ratings given."""
        good = self.satisfaction.get(RatingValue.SATISFIED, 0) + self.satisfaction.get(
            RatingValue.BASICALLY_SATISFIED, 0
        )
        return Rate(good, self.rated)


def median(values: Sequence[int]) -> float | None:
    return median_of_counts(Counter(values))


def nearest_rank(values: Sequence[int], pct: float) -> int | None:
    """The ``pct`` percentile by nearest rank: the smallest value with at least ``pct``
    per cent of the values at or below it."""
    return nearest_rank_of_counts(Counter(values), pct)


def _value_at(counts: Mapping[int, int], rank: int) -> int:
    """The ``rank``-th value (from 1) of the values ``counts`` holds, in order."""
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    raise ValueError(rank)


def median_of_counts(counts: Mapping[int, int]) -> float | None:
    """The median of values given as how many times each occurs."""
    counts = {v: n for v, n in counts.items() if n > 0}
    size = sum(counts.values())
    if not size:
        return None
    if size % 2:
        return float(_value_at(counts, size // 2 + 1))
    return (_value_at(counts, size // 2) + _value_at(counts, size // 2 + 1)) / 2


def nearest_rank_of_counts(counts: Mapping[int, int], pct: float) -> int | None:
    counts = {v: n for v, n in counts.items() if n > 0}
    size = sum(counts.values())
    if not size:
        return None
    return _value_at(counts, max(1, math.ceil(pct / 100 * size)))


def compute(inputs: FigureInputs) -> Figures:
    period = inputs.period
    margins = Margins.of(inputs.cells).plus(inputs.margins)
    outcomes: dict[Decided, Outcome] = {}

    def outcome(status: SuggestionStatus, disposition: SuggestionStatus | None) -> Outcome:
        found = outcomes.get((status, disposition))
        if found is None:
            found = outcomes[(status, disposition)] = outcome_of(status, disposition)
        return found

    total = sum(margins.points.values())
    by_outcome: dict[Outcome, int] = dict.fromkeys(OUTCOMES, 0)
    by_status: Counter[SuggestionStatus] = Counter()
    per_point: dict[int | None, dict[Outcome, int]] = {}
    for (point_id, status, disposition), n in margins.points.items():
        o = outcome(status, disposition)
        by_outcome[o] += n
        by_status[status] += n
        row = per_point.setdefault(point_id, dict.fromkeys(OUTCOMES, 0))
        row[o] += n
    by_kind = {k: n for k, n in margins.kinds.items() if n}
    by_domain: Counter[FocusDomain] = Counter()
    domain_outcomes: dict[FocusDomain, dict[Outcome, int]] = {}
    for (domain, status, disposition), n in margins.domains.items():
        by_domain[domain] += n
        row = domain_outcomes.setdefault(domain, dict.fromkeys(OUTCOMES, 0))
        row[outcome(status, disposition)] += n

    month_keys = period.months()
    monthly = [dict.fromkeys(OUTCOMES, 0) for _ in month_keys]
    for (month, status, disposition), n in margins.months.items():
        if 0 <= month < len(monthly):
            monthly[month][outcome(status, disposition)] += n
    months = [Month(y, m, monthly[i]) for i, (y, m) in enumerate(month_keys)]

    points = _points(inputs, per_point)
    decided = sum(n for o, n in by_outcome.items() if o in DECIDED_OUTCOMES)
    departments = _departments(inputs)
    implemented = sum(d.implemented for d in departments)
    on_time = sum(d.on_time.part for d in departments)
    timed = sum(d.on_time.whole for d in departments)
    active, idle = _observers(inputs)
    decision_days = Counter(inputs.decision_days)
    decision_days.update(inputs.decision_day_counts)
    return Figures(
        period=period,
        total=total,
        by_status={k: n for k, n in by_status.items() if n},
        by_outcome=by_outcome,
        by_kind=by_kind,
        by_domain={k: n for k, n in by_domain.items() if n},
        domain_outcomes=domain_outcomes,
        months=months,
        points=points,
        adoption=Rate(by_outcome[Outcome.ADOPTED], decided),
        decision_median=median_of_counts(decision_days),
        decision_p90=nearest_rank_of_counts(decision_days, 90),
        decisions=sum(decision_days.values()),
        decided_on_time=Rate(inputs.decided_on_time, inputs.decided_on_time + inputs.decided_late),
        departments=departments,
        implemented=implemented,
        implemented_on_time=Rate(on_time, timed),
        satisfaction={v: inputs.ratings.get(v, 0) for v in RatingValue},
        active_observers=active,
        idle_observers=idle,
        appointed_observers=sum(
            1 for o in inputs.observers if o.status is ObserverStatus.APPOINTED
        ),
        active_points=sum(1 for p in inputs.points if p.active),
    )


def _points(
    inputs: FigureInputs, per_point: dict[int | None, dict[Outcome, int]]
) -> list[PointFigures]:
    staffed = Counter(o.point_id for o in inputs.observers if o.status is ObserverStatus.APPOINTED)
    per_point = {p: counts for p, counts in per_point.items() if sum(counts.values())}
    out: list[PointFigures] = []
    for p in inputs.points:
        counts = per_point.pop(p.id, dict.fromkeys(OUTCOMES, 0))
        if not p.active and not sum(counts.values()):
            continue  # a point closed with nothing in the period is no longer news
        out.append(
            PointFigures(
                p.id,
                p.code,
                p.name,
                p.active,
                staffed.get(p.id, 0),
                sum(counts.values()),
                counts[Outcome.ADOPTED],
                counts,
            )
        )
    for point_id, counts in per_point.items():
        # Items of observers with no point, or of a point since removed.
        out.append(
            PointFigures(
                point_id,
                "—",
                "",
                False,
                0,
                sum(counts.values()),
                counts[Outcome.ADOPTED],
                counts,
            )
        )
    out.sort(key=lambda p: (-p.items, p.code))
    return out


def _departments(inputs: FigureInputs) -> list[DepartmentFigures]:
    names = {d.id: d for d in inputs.departments}
    grouped: dict[int | None, list[DepartmentCell]] = {}
    for c in inputs.departments_cells:
        grouped.setdefault(c.department_id, []).append(c)
    out: list[DepartmentFigures] = []
    for department_id, cells in grouped.items():
        place = names.get(department_id) if department_id is not None else None
        implemented = sum(c.count for c in cells if c.implemented)
        on_time = sum(c.count for c in cells if c.implemented and c.implemented_on_time is True)
        timed = sum(c.count for c in cells if c.implemented and c.implemented_on_time is not None)
        out.append(
            DepartmentFigures(
                department_id,
                place.code if place else "—",
                place.name if place else "",
                sum(c.count for c in cells),
                implemented,
                Rate(on_time, timed),
                sum(c.count for c in cells if c.overdue),
            )
        )
    out.sort(key=lambda d: (d.department_id is None, -d.assigned, d.code))
    return out


def _observers(
    inputs: FigureInputs,
) -> tuple[list[ObserverActivity], list[ObserverActivity]]:
    codes = {p.id: p.code for p in inputs.points}
    cells = {c.observer_id: c for c in inputs.observer_cells}
    active: list[ObserverActivity] = []
    idle: list[ObserverActivity] = []
    known: set[int] = set()
    for o in inputs.observers:
        known.add(o.id)
        code = codes.get(o.point_id, "—") if o.point_id is not None else "—"
        cell = cells.get(o.id)
        if cell is not None and cell.filed:
            active.append(
                ObserverActivity(o.id, o.name, code, cell.filed, cell.adopted, cell.last_filed)
            )
        elif o.status is ObserverStatus.APPOINTED:
            idle.append(ObserverActivity(o.id, o.name, code, 0, 0, o.last_filed))
    for observer_id, cell in cells.items():
        if observer_id not in known and cell.filed:
            active.append(
                ObserverActivity(observer_id, "", "—", cell.filed, cell.adopted, cell.last_filed)
            )
    active.sort(key=lambda a: (-a.filed, -a.adopted, a.name, a.observer_id))
    idle.sort(key=lambda a: (a.point_code, a.name, a.observer_id))
    return active, idle
