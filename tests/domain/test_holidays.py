"""The /holidays text format: what it reads, and the line it refuses."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.holidays import BadHolidayLine, parse_holidays
from bot.domain.statuses import DayKind

NOTICE_2027 = """
# 节假日安排（示例）
2027-01-01..2027-01-03 off 元旦
2027-2-6 班 春节调休
2027-02-10 ~ 2027-02-11 休
2027-05-01至2027-05-02 holiday 劳动节
"""


def test_a_notice_reads_day_by_day():
    lines = parse_holidays(NOTICE_2027)
    assert [(x.day, x.kind, x.name) for x in lines] == [
        (date(2027, 1, 1), DayKind.HOLIDAY, "元旦"),
        (date(2027, 1, 2), DayKind.HOLIDAY, "元旦"),
        (date(2027, 1, 3), DayKind.HOLIDAY, "元旦"),
        (date(2027, 2, 6), DayKind.WORKDAY, "春节调休"),
        (date(2027, 2, 10), DayKind.HOLIDAY, ""),
        (date(2027, 2, 11), DayKind.HOLIDAY, ""),
        (date(2027, 5, 1), DayKind.HOLIDAY, "劳动节"),
        (date(2027, 5, 2), DayKind.HOLIDAY, "劳动节"),
    ]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("2027-01-01", 1, "format"),
        ("元旦 2027-01-01 off", 1, "format"),
        ("2027-02-30 off", 1, "date"),
        ("2027-01-01 maybe", 1, "kind"),
        ("2027-01-05..2027-01-01 off", 1, "order"),
        ("2027-01-01..2027-03-01 off", 1, "range"),
        ("2027-01-04 work 周一", 1, "weekday"),  # a Monday is already worked
        ("2027-01-01 off\n\n2027-01-01 off", 3, "twice"),
    ],
)
def test_the_first_bad_line_is_named(text, line, reason):
    with pytest.raises(BadHolidayLine) as caught:
        parse_holidays(text)
    assert (caught.value.line, caught.value.reason) == (line, reason)
