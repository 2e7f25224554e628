"""Working-day arithmetic over a calendar with holidays and make-up working days.

China's official holiday schedule moves working days onto weekends (调休), so a
weekday can be a holiday and a Saturday can be a working day. Deadlines are counted
in the office's time zone: an item filed at 23:30 in Shanghai counts from that
Shanghai date, whatever the server's clock says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.errors import InvalidInput

_SATURDAY = 5


class DayOff(StrEnum):
    WEEKEND = "weekend"
    HOLIDAY = "holiday"


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> WorkingCalendar:
        h, w = frozenset(holidays), frozenset(workdays)
        both = h & w
        if both:
            raise InvalidInput(f"a day cannot be both holiday and workday: {min(both)}")
        return cls(h, w)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < _SATURDAY

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (``start`` itself not counted).

        With ``days == 0`` the answer is ``start`` if it is a working day, else the next
        working day: something due "today" on a holiday is due on the next working day.
        """
        if days < 0:
            raise InvalidInput("days must not be negative")
        current = start
        if days == 0:
            while not self.is_working_day(current):
                current += timedelta(days=1)
            return current
        remaining = days
        while remaining:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    @property
    def years(self) -> frozenset[int]:
        """The years the office has recorded days for. A year without any is not loaded:
        every year has days off besides weekends (New Year's Day at least)."""
        return frozenset(d.year for d in self.holidays | self.workdays)

    def missing_years(self, first: date, last: date) -> list[int]:
        """The years from ``first`` to ``last`` whose calendar is not loaded: working days
        in them are counted Monday to Friday, without holidays or make-up days."""
        loaded = self.years
        return [y for y in range(first.year, last.year + 1) if y not in loaded]

    def day_off(self, day: date) -> DayOff | None:
        """Why ``day`` is not a working day (a holiday, or a weekend not worked), or None
        when it is one."""
        if self.is_working_day(day):
            return None
        return DayOff.HOLIDAY if day in self.holidays else DayOff.WEEKEND

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative if ``end`` is before ``start``."""
        if end < start:
            return -self.working_days_between(end, start)
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    if moment.tzinfo is None:
        raise InvalidInput("deadlines need an aware datetime")
    return moment.astimezone(tz).date()


def day_number(day: date) -> int:
    """A date as the figures' summaries key it: yyyymmdd."""
    return day.year * 10000 + day.month * 100 + day.day


def from_day_number(number: int) -> date:
    return date(number // 10000, number // 100 % 100, number % 100)


def local_day_number(moment: datetime, tz: ZoneInfo) -> int:
    return day_number(local_date(moment, tz))


def due_after(calendar: WorkingCalendar, moment: datetime, days: int, tz: ZoneInfo) -> date:
    """The last day (inclusive) of a ``days``-working-day period starting at ``moment``."""
    return calendar.add_working_days(local_date(moment, tz), days)


def on_time(done_at: datetime, due: date | None, tz: ZoneInfo) -> bool | None:
    """Whether something done at ``done_at`` met a deadline that ends with ``due``.

    ``None`` when there was no deadline, so "unknown" is never counted as "late".
    """
    if due is None:
        return None
    return local_date(done_at, tz) <= due


def is_overdue(now: datetime, due: date | None, tz: ZoneInfo) -> bool:
    return due is not None and local_date(now, tz) > due
