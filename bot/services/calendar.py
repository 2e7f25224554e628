"""The working-day calendar the office keeps: holidays and make-up working days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.domain.calendar import WorkingCalendar
from bot.domain.errors import InvalidInput
from bot.domain.limits import clean_text
from bot.domain.permissions import Manage, require_manage
from bot.domain.statuses import DayKind
from bot.services.actors import Actor
from bot.services.context import Service


@dataclass(frozen=True, slots=True)
class DayEntry:
    day: date
    kind: DayKind
    name: str = ""


class CalendarService(Service):
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
