"""The small text format in which the office types a year's holidays (/holidays).

One day or range per line, then what it is, then an optional name::

    2027-01-01..2027-01-03 off 元旦
    2027-02-06 work 春节调休

``off`` (also ``holiday``, ``休``, ``假``) is a day off; ``work`` (also ``workday``,
``班``, ``上班``) is a weekend day worked in exchange (调休). A range may be written
``A..B``, ``A~B`` or ``A至B``. Blank lines and lines starting with ``#`` are ignored.
This is how the State Council's yearly notice reads, so it can be copied line by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.errors import InvalidInput
from bot.domain.statuses import DayKind

NAME_MAX = 100
# The longest block of days off the State Council gives is nine days; a month is a
# generous ceiling that still catches a mistyped year or month.
RANGE_MAX_DAYS = 31
LINES_MAX = 200

_KINDS = {
    "off": DayKind.HOLIDAY,
    "holiday": DayKind.HOLIDAY,
    "休": DayKind.HOLIDAY,
    "假": DayKind.HOLIDAY,
    "放假": DayKind.HOLIDAY,
    "work": DayKind.WORKDAY,
    "workday": DayKind.WORKDAY,
    "班": DayKind.WORKDAY,
    "上班": DayKind.WORKDAY,
}
_LINE = re.compile(
    r"^(?P<first>\d{4}-\d{1,2}-\d{1,2})"
    r"(?:\s*(?:\.\.|~|～|至)\s*(?P<last>\d{4}-\d{1,2}-\d{1,2}))?"
    r"\s+(?P<kind>\S+)(?:\s+(?P<name>.+))?$"
)


@dataclass(frozen=True, slots=True)
class HolidayLine:
    day: date
    kind: DayKind
    name: str


class BadHolidayLine(InvalidInput):
    """A line of the holiday text that cannot be read; ``line`` is 1-based and
    ``reason`` one of: format, date, kind, order, range, weekday, twice, too_many."""

    code = "bad_holiday_line"

    def __init__(self, line: int, text: str, reason: str) -> None:
        super().__init__(f"line {line}: {reason}: {text!r}", line=line, text=text, reason=reason)
        self.line = line
        self.text = text
        self.reason = reason


def parse_holidays(text: str) -> list[HolidayLine]:
    """Every day the text names, in order; raises :class:`BadHolidayLine` on the
    first line that cannot be read, so nothing is imported half-way."""
    out: list[HolidayLine] = []
    seen: dict[date, int] = {}
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if number > LINES_MAX:
            raise BadHolidayLine(number, line, "too_many")
        m = _LINE.match(line)
        if m is None:
            raise BadHolidayLine(number, line, "format")
        kind = _KINDS.get(m["kind"].lower())
        if kind is None:
            raise BadHolidayLine(number, line, "kind")
        try:
            first = date.fromisoformat(_padded(m["first"]))
            last = date.fromisoformat(_padded(m["last"])) if m["last"] else first
        except ValueError:
            raise BadHolidayLine(number, line, "date") from None
        if last < first:
            raise BadHolidayLine(number, line, "order")
        if (last - first).days >= RANGE_MAX_DAYS:
            raise BadHolidayLine(number, line, "range")
        name = (m["name"] or "").strip()[:NAME_MAX]
        day = first
        while day <= last:
            if kind is DayKind.WORKDAY and day.weekday() < 5:
                raise BadHolidayLine(number, line, "weekday")
            if day in seen:
                raise BadHolidayLine(number, line, "twice")
            seen[day] = number
            out.append(HolidayLine(day, kind, name))
            day += timedelta(days=1)
    return out


def _padded(text: str) -> str:
    year, month, day = text.split("-")
    return f"{year}-{int(month):02d}-{int(day):02d}"


def years_of(lines: list[HolidayLine]) -> list[int]:
    return sorted({line.day.year for line in lines})
