"""Reporting periods as the office names them: ``2026``, ``2026-06``, ``2026-Q2``, ``30d``.

A period is a range of the office's local dates, ``start`` inclusive and ``end``
exclusive; it becomes a range of UTC instants only at the database's door, so an item
filed at 23:30 on 30 June in Shanghai counts in June whatever the server's clock says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.errors import InvalidInput

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_DAYS = re.compile(r"^(\d{1,4})\s*[dD]$")
YEAR_MIN, YEAR_MAX = 2000, 2100
DAYS_MAX = 3660


class PeriodKind(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    DAYS = "days"


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # exclusive
    # The canonical spelling, e.g. "2026-Q2": what the office typed, tidied.
    spec: str

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def quarter(self) -> int:
        return (self.start.month - 1) // 3 + 1

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC instants: local midnight of ``start`` to that of ``end``."""
        return utc_midnight(self.start, tz), utc_midnight(self.end, tz)

    def months(self) -> list[tuple[int, int]]:
        """The calendar months the period touches, as (year, month), in order."""
        out: list[tuple[int, int]] = []
        year, month = self.start.year, self.start.month
        while date(year, month, 1) < self.end:
            out.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def whole_months(self) -> tuple[date, date] | None:
        """The run of calendar months lying wholly inside the period (first day, end
        exclusive), which the figures' monthly summaries answer; None if there is none."""
        first = self.start if self.start.day == 1 else _next_month(self.start)
        last = self.end.replace(day=1)
        return (first, last) if first < last else None

    def edges(self) -> list[tuple[date, date]]:
        """The stretches of days not in :meth:`whole_months` (a ``30d`` period's ends),
        which the figures read from the items themselves."""
        whole = self.whole_months()
        if whole is None:
            return [(self.start, self.end)]
        found = [(self.start, whole[0]), (whole[1], self.end)]
        return [(lo, hi) for lo, hi in found if lo < hi]

    def month_starts(self) -> list[date]:
        """Where each month's bucket begins, clipped to the period (the first may be
        mid-month for a ``30d`` period)."""
        return [max(self.start, date(y, m, 1)) for y, m in self.months()]


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def utc_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def year_period(year: int) -> Period:
    _check_year(year)
    return Period(PeriodKind.YEAR, date(year, 1, 1), date(year + 1, 1, 1), f"{year}")


def month_period(year: int, month: int) -> Period:
    _check_year(year)
    if not 1 <= month <= 12:
        raise InvalidInput(f"month {month} out of range", spec=f"{year}-{month}")
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(PeriodKind.MONTH, date(year, month, 1), end, f"{year}-{month:02d}")


def quarter_period(year: int, quarter: int) -> Period:
    _check_year(year)
    first = 3 * (quarter - 1) + 1
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, first + 3, 1)
    return Period(PeriodKind.QUARTER, date(year, first, 1), end, f"{year}-Q{quarter}")


def days_period(days: int, today: date) -> Period:
    """The last ``days`` days, today included."""
    if not 1 <= days <= DAYS_MAX:
        raise InvalidInput(f"{days} days out of range", spec=f"{days}d")
    end = today + timedelta(days=1)
    return Period(PeriodKind.DAYS, end - timedelta(days=days), end, f"{days}d")


def parse_period(text: str | None, today: date) -> Period:
    """The period ``text`` names; no text means the current year."""
    spec = (text or "").strip()
    if not spec:
        return year_period(today.year)
    if m := _YEAR.match(spec):
        return year_period(int(m[1]))
    if m := _QUARTER.match(spec):
        return quarter_period(int(m[1]), int(m[2]))
    if m := _MONTH.match(spec):
        return month_period(int(m[1]), int(m[2]))
    if m := _DAYS.match(spec):
        return days_period(int(m[1]), today)
    raise InvalidInput(f"not a period: {spec!r}", spec=spec)


def _check_year(year: int) -> None:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidInput(f"year {year} out of range", spec=str(year))
