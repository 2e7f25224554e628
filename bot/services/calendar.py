"""The working-day calendar the office keeps: holidays and make-up working days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.domain.calendar import WorkingCalendar
from bot.domain.errors import InvalidInput
from bot.domain.holidays import parse_holidays, years_of
from bot.domain.limits import clean_text
from bot.domain.permissions import Manage, require_manage
from bot.domain.statuses import DayKind
from bot.services.actors import Actor
from bot.services.context import Service
from storage.store import Store


@dataclass(frozen=True, slots=True)
class DayEntry:
    day: date
    kind: DayKind
    name: str = ""


@dataclass(frozen=True, slots=True)
class Imported:
    years: tuple[int, ...]
    holidays: int
    workdays: int
    replaced: int  # days the office had for those years before


class CalendarService(Service):
    async def import_text(self, actor: Actor, text: str) -> Imported:
        """Replace the holidays and make-up days of every year the text names with what
        it says (see ``bot.domain.holidays`` for the format); all or nothing."""
        require_manage(actor.view, Manage.EDIT_CALENDAR)
        lines = parse_holidays(text)
        if not lines:
            raise InvalidInput("no days given", field="text")
        years = years_of(lines)
        replaced = 0
        for year in years:
            replaced += await self.store.calendar.clear(date(year, 1, 1), date(year + 1, 1, 1))
        for line in lines:
            await self.store.calendar.put(line.day, line.kind, line.name)
        return Imported(
            tuple(years),
            sum(1 for x in lines if x.kind is DayKind.HOLIDAY),
            sum(1 for x in lines if x.kind is DayKind.WORKDAY),
            replaced,
        )

    async def year(self, actor: Actor, year: int) -> list[DayEntry]:
        """The year's holidays and make-up days, in order."""
        require_manage(actor.view, Manage.EDIT_CALENDAR)
        rows = await self.store.calendar.between(date(year, 1, 1), date(year + 1, 1, 1))
        return [DayEntry(r.day, r.kind, r.name) for r in rows]

    async def set_days(self, actor: Actor, entries: Iterable[DayEntry]) -> int:
        """Record holidays and make-up working days; a day given again is replaced."""
        require_manage(actor.view, Manage.EDIT_CALENDAR)
        entries = list(entries)
        days = [e.day for e in entries]
        if len(days) != len(set(days)):
            raise InvalidInput("a day is listed twice")
        for entry in entries:
            if entry.kind is DayKind.WORKDAY and entry.day.weekday() < 5:
                raise InvalidInput(f"{entry.day} is already a working day", day=str(entry.day))
            await self.store.calendar.put(
                entry.day, entry.kind, clean_text(entry.name, 100, field="name", required=False)
            )
        return len(entries)

    async def remove_day(self, actor: Actor, day: date) -> bool:
        require_manage(actor.view, Manage.EDIT_CALENDAR)
        return await self.store.calendar.remove(day)

    async def working_calendar(self) -> WorkingCalendar:
        return await self.calendar()


async def missing_calendars(store: Store, calendar: WorkingCalendar, today: date) -> list[int]:
    """The years in use whose working-day calendar is not loaded: this year's, and those
    of the deadlines open items still count towards. Their working days are counted
    Monday to Friday, without holidays or make-up days, until the office loads them."""
    in_use = {today.year, *await store.calendar.due_years(date(today.year, 1, 1))}
    return sorted(in_use - calendar.years)
