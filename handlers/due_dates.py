"""What the office is told about a due date typed or picked: how to write one, why one
was not taken, and what to know about one that was (a weekend or holiday, a year whose
working-day calendar is not loaded).

A day off is accepted, with a warning: the admin chose that exact day, and a deadline
may fall on one (an event on a Saturday). Asking "are you sure?" each time trains
people to press Yes without reading; a warning that says what is odd and how to change
it leaves the decision where it was and is read when it matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from aiogram.utils.i18n import gettext as _

from bot.domain.calendar import DayOff, WorkingCalendar
from bot.domain.dates import AMBIGUOUS, NO_SUCH_DAY, PAST, TOO_FAR, BadDate
from handlers.ui import N_, clip, day, esc

WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
_SHOWN = 40  # of a typed text quoted back
_CHANGE = N_("📅 Set due date")  # the card's button (handlers.cards)


def examples(sample: date) -> str:
    """Ways to write ``sample`` that the prompts accept, as the language writes them."""
    return _("{y}-{mm}-{dd}, {m}-{d} or {d}.{m}").format(
        y=sample.year,
        mm=f"{sample.month:02d}",
        dd=f"{sample.day:02d}",
        m=sample.month,
        d=sample.day,
    )


def weekday(value: date) -> str:
    return _(WEEKDAYS[value.weekday()])


def date_problem(exc: BadDate, text: str) -> str:
    """Why the typed ``text`` was not taken as a due date (the prompt that follows says
    how to write one)."""
    shown = esc(clip(text, _SHOWN))
    if exc.reason == PAST and exc.day is not None:
        return _("{date} is in the past: the due date must be today or later.").format(
            date=day(exc.day)
        )
    if exc.reason == TOO_FAR and exc.day is not None:
        return _("{date} is too far ahead: please check the year.").format(date=day(exc.day))
    if exc.reason == NO_SUCH_DAY:
        return _("There is no such day as “{text}”: please check the month and the day.").format(
            text=shown
        )
    if exc.reason == AMBIGUOUS:
        return _("“{text}” can be read two ways (month/day or day/month).").format(text=shown)
    return _("I cannot read “{text}” as a date.").format(text=shown)


def due_notes(calendar: WorkingCalendar, today: date, due: date) -> list[str]:
    """What the office should know of a due date just set: the day it falls on when that
    is no working day, and the years its working days are counted in without their
    holidays (see :func:`calendar_missing`)."""
    notes = []
    off = calendar.day_off(due)
    if off is DayOff.HOLIDAY:
        notes.append(
            "⚠️ "
            + _(
                "{date} is a holiday in the office's calendar. If that is not meant, "
                "press “{button}” on the card to change it."
            ).format(date=day(due), button=_(_CHANGE))
        )
    elif off is DayOff.WEEKEND:
        notes.append(
            "⚠️ "
            + _(
                "{date} is a {weekday}, not a working day. If that is not meant, "
                "press “{button}” on the card to change it."
            ).format(date=day(due), weekday=weekday(due), button=_(_CHANGE))
        )
    missing = calendar.missing_years(min(today, due), due)
    if missing:
        notes.append(calendar_missing(missing))
    return notes


def calendar_missing(years: Sequence[int]) -> str:
    """The warning that the working-day calendar of ``years`` is not loaded."""
    first = years[0]
    return "📅 " + _(
        "No holiday calendar is loaded for {years}: its working days are counted Monday to "
        "Friday, without public holidays or make-up working days. Load it with /holidays "
        "(send /holidays {year} to see the format)."
    ).format(years=", ".join(str(y) for y in years), year=first)
