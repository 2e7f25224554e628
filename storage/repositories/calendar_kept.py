"""The working-day calendar's exceptions (``calendar_days``), kept a short while.

Every due date worked out (a filing, a decision, a date picked) reads the whole
calendar, and it changes a few times a year (``/holidays``): the exceptions are kept
per database for a short while. Another process's change is seen within
``KEPT_SECONDS``; this process's at once, when it commits (a transaction that changes
the calendar reads it afresh until then).
"""

from __future__ import annotations

import time
import weakref
from datetime import date
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from bot.domain.statuses import DayKind
from storage.models import CalendarDay

KEPT_SECONDS = 30.0
_CHANGED = "outpost_calendar_changed"

Exceptions = tuple[frozenset[date], frozenset[date]]  # holidays, make-up workdays

# Per database (engine): the exceptions, and when they were read.
_KEPT: weakref.WeakKeyDictionary[Any, tuple[Exceptions, float]] = weakref.WeakKeyDictionary()


def _engine(session: Session) -> Any:
    bind = session.get_bind()
    return getattr(bind, "engine", bind)


def changing(session: Session) -> bool:
    return bool(session.info.get(_CHANGED))


def mark_changed(session: Session) -> None:
    session.info[_CHANGED] = True


def kept(session: Session) -> Exceptions | None:
    if changing(session):
        return None
    found = _KEPT.get(_engine(session))
    if found is None or time.monotonic() - found[1] >= KEPT_SECONDS:
        return None
    return found[0]


def keep(session: Session, rows: list[tuple[date, DayKind]]) -> Exceptions:
    found = (
        frozenset(day for day, kind in rows if kind is DayKind.HOLIDAY),
        frozenset(day for day, kind in rows if kind is DayKind.WORKDAY),
    )
    if not changing(session):  # what this transaction writes is kept once it commits
        _KEPT[_engine(session)] = (found, time.monotonic())
    return found


@event.listens_for(CalendarDay, "before_insert")
@event.listens_for(CalendarDay, "before_update")
@event.listens_for(CalendarDay, "before_delete")
def _note_change(_mapper: Any, _connection: Any, row: CalendarDay) -> None:
    # A day added, changed or removed through a session, by any code.
    session = object_session(row)
    if session is not None:
        mark_changed(session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_changed(session: Session) -> None:
    if session.info.pop(_CHANGED, None):
        _KEPT.pop(_engine(session), None)
