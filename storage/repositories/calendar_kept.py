"""The working-day calendar's exceptions (``calendar_days``), kept a short while.

Every due date worked out (a filing, a decision, a date picked) reads the whole
calendar, and it changes a few times a year (``/holidays``): the exceptions are kept
per database for a short while (``storage.kept``). Another process's change is seen
within ``KEPT.seconds``; this process's at once, when it commits.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from bot.domain.statuses import DayKind
from storage.kept import Kept
from storage.models import CalendarDay

Exceptions = tuple[frozenset[date], frozenset[date]]  # holidays, make-up workdays

KEPT: Kept[Exceptions] = Kept("calendar", CalendarDay)


def kept(session: Session) -> Exceptions | None:
    return KEPT.kept(session)


def mark_changed(session: Session) -> None:
    KEPT.mark_changed(session)


def keep(session: Session, rows: list[tuple[date, DayKind]]) -> Exceptions:
    found = (
        frozenset(day for day, kind in rows if kind is DayKind.HOLIDAY),
        frozenset(day for day, kind in rows if kind is DayKind.WORKDAY),
    )
    return KEPT.keep(session, found)
