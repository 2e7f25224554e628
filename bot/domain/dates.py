"""Reading a date an admin typed, in the forms people in the office write.

Accepted, after full-width characters are folded to their ASCII twins (a Chinese
input method types ２０２６－１２－２５):

- year first, with ``-``, ``/`` or ``.``: ``2026-12-25``, ``2026/12/25``, ``2026.12.25``;
- Chinese: ``2026年12月25日``, ``12月25日`` (``号`` for ``日``, or neither);
- month and day with ``-``: ``12-25`` (the ISO and Chinese order, without the year);
- day first with dots: ``25.12``, ``25.12.``, ``25.12.2026`` (how Europe writes dates);
- English month names: ``25 Dec``, ``Dec 25``, ``25 December 2026``, ``December 25, 2026``.

The separator tells the order, so no form is read two ways. A slash without the year
first (``12/25``, ``05/06/2026``) is refused as ambiguous rather than guessed: it is
month/day in China and the United States and day/month in Britain, and a due date
silently read the wrong way round is worse than one question more. Two-digit years
are refused for the same reason.

A date without a year is the next such day that is not in the past: on 2026-12-30,
``1-5`` is 2027-01-05 and ``12-30`` is today.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

from bot.domain.errors import InvalidInput

# A due date further ahead than this is a typing mistake (the year, most likely).
AHEAD_MAX = timedelta(days=3 * 366)
_LEAP = 2000  # a year in which every month/day pair exists

UNREADABLE, AMBIGUOUS, NO_SUCH_DAY, PAST, TOO_FAR = (
    "unreadable",
    "ambiguous",
    "no_such_day",
    "past",
    "too_far",
)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<mon>[a-z]+)\.?"
_FORMS = [
    re.compile(p)
    for p in (
        r"^(?P<y>\d{4})\s*(?P<s>[-/.])\s*(?P<m>\d{1,2})\s*(?P=s)\s*(?P<d>\d{1,2})$",
        r"^(?:(?P<y>\d{4})\s*年\s*)?(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?$",
        r"^(?P<m>\d{1,2})\s*-\s*(?P<d>\d{1,2})$",
        r"^(?P<d>\d{1,2})\s*\.\s*(?P<m>\d{1,2})(?:\s*\.\s*(?P<y>\d{4})?)?$",
        rf"^(?P<d>\d{{1,2}})\s+{_MONTH}(?:\s*,?\s*(?P<y>\d{{4}}))?$",
        rf"^{_MONTH}\s+(?P<d>\d{{1,2}})(?:\s*,?\s*(?P<y>\d{{4}}))?$",
    )
]
# Slash dates without the year first: read differently on either side of the Atlantic.
_SLASHED = re.compile(r"^\d{1,2}\s*/\s*\d{1,2}(?:\s*/\s*\d{1,4})?$")


class BadDate(InvalidInput):
    """A typed date that cannot be taken; ``reason`` is one of unreadable, ambiguous,
    no_such_day, past, too_far, and ``day`` the date read, for the last two."""

    code = "bad_date"

    def __init__(self, reason: str, day: date | None = None) -> None:
        super().__init__(f"date {reason}", reason=reason)
        self.reason = reason
        self.day = day


def parse_date(text: str, today: date) -> date:
    """The date ``text`` names; a date without a year is the next one from ``today`` on.
    Raises :class:`BadDate` (unreadable, ambiguous, no_such_day)."""
    folded = unicodedata.normalize("NFKC", text).strip().rstrip("。").strip().lower()
    if _SLASHED.match(folded):
        raise BadDate(AMBIGUOUS)
    for form in _FORMS:
        found = form.match(folded)
        if found is not None:
            return _date_of(found.groupdict(), today)
    raise BadDate(UNREADABLE)


def parse_due(text: str, today: date) -> date:
    """A due date typed: readable, and from today to :data:`AHEAD_MAX` ahead.
    Raises :class:`BadDate` (any reason)."""
    due = parse_date(text, today)
    if due < today:
        raise BadDate(PAST, due)
    if due > today + AHEAD_MAX:
        raise BadDate(TOO_FAR, due)
    return due


def _date_of(parts: dict[str, str | None], today: date) -> date:
    mon = parts.get("mon")
    if mon is not None:
        month = _MONTHS.get(mon)
        if month is None:
            raise BadDate(UNREADABLE)
    else:
        month = int(parts["m"] or 0)
    day = int(parts["d"] or 0)
    year = parts.get("y")
    try:
        if year is not None:
            return date(int(year), month, day)
        date(_LEAP, month, day)
    except ValueError:
        raise BadDate(NO_SUCH_DAY) from None
    return _next(month, day, today)


def _next(month: int, day: int, today: date) -> date:
    """The first ``month``/``day`` on or after ``today``: 29 February waits for a leap
    year (at most eight years away, over a century that is not one)."""
    for year in range(today.year, today.year + 9):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found >= today:
            return found
    raise BadDate(NO_SUCH_DAY)  # pragma: no cover - every real day recurs within 8 years
