"""The State Council's holiday schedules the project ships, in the text format the office
types with /holidays (``bot.domain.holidays``).

The State Council announces a year's days off and make-up working days (调休) late in
the year before, so only the years announced when this was written are here. A year
missing is loaded by the office itself with /holidays; until then the bot counts its
working days Monday to Friday and says so. No year is ever guessed: a schedule made up
would move deadlines silently, where a missing one is warned of.

Migration 0004 loads the same 2026 schedule into a new database; this copy serves what
starts without the migrations' data (the offline demo seeded on an empty schema).
"""

from __future__ import annotations

from bot.domain.holidays import HolidayLine, parse_holidays

# 国务院办公厅关于2026年部分节假日安排的通知
_2026 = """
2026-01-01..2026-01-03 off 元旦
2026-01-04 work 元旦调休
2026-02-15..2026-02-23 off 春节
2026-02-14 work 春节调休
2026-02-28 work 春节调休
2026-04-04..2026-04-06 off 清明节
2026-05-01..2026-05-05 off 劳动节
2026-05-09 work 劳动节调休
2026-06-19..2026-06-21 off 端午节
2026-09-25..2026-09-27 off 中秋节
2026-10-01..2026-10-07 off 国庆节
2026-09-20 work 国庆节调休
2026-10-10 work 国庆节调休
"""

SCHEDULES: dict[int, str] = {2026: _2026}


def schedule(year: int) -> list[HolidayLine]:
    """The year's days off and make-up working days, or none when it is not known."""
    text = SCHEDULES.get(year)
    return parse_holidays(text) if text else []
