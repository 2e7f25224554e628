"""Reporting periods as the office types them, and where they begin and end in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import InvalidInput
from bot.domain.periods import PeriodKind, parse_period

TODAY = date(2026, 12, 3)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "spec"),
    [
        ("2026", PeriodKind.YEAR, date(2026, 1, 1), date(2027, 1, 1), "2026"),
        ("", PeriodKind.YEAR, date(2026, 1, 1), date(2027, 1, 1), "2026"),
        (None, PeriodKind.YEAR, date(2026, 1, 1), date(2027, 1, 1), "2026"),
        ("2026-06", PeriodKind.MONTH, date(2026, 6, 1), date(2026, 7, 1), "2026-06"),
        ("2026-6", PeriodKind.MONTH, date(2026, 6, 1), date(2026, 7, 1), "2026-06"),
        ("2026-12", PeriodKind.MONTH, date(2026, 12, 1), date(2027, 1, 1), "2026-12"),
        ("2026-Q2", PeriodKind.QUARTER, date(2026, 4, 1), date(2026, 7, 1), "2026-Q2"),
        ("2026q4", PeriodKind.QUARTER, date(2026, 10, 1), date(2027, 1, 1), "2026-Q4"),
        (" 30d ", PeriodKind.DAYS, date(2026, 11, 4), date(2026, 12, 4), "30d"),
        ("1D", PeriodKind.DAYS, date(2026, 12, 3), date(2026, 12, 4), "1d"),
    ],
)
def test_periods(text, kind, start, end, spec):
    period = parse_period(text, TODAY)
    assert (period.kind, period.start, period.end, period.spec) == (kind, start, end, spec)


@pytest.mark.parametrize(
    "text",
    ["26", "2026-13", "2026-00", "2026-Q5", "0d", "99999d", "1999", "2101", "june", "2026-06-01"],
)
def test_what_is_not_a_period(text):
    with pytest.raises(InvalidInput):
        parse_period(text, TODAY)


def test_bounds_are_local_midnights_and_months_are_local():
    q2 = parse_period("2026-Q2", TODAY)
    lo, hi = q2.bounds(SHANGHAI)
    assert lo == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert hi == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    assert q2.months() == [(2026, 4), (2026, 5), (2026, 6)]
    last30 = parse_period("30d", TODAY)
    assert last30.months() == [(2026, 11), (2026, 12)]
    assert last30.month_starts() == [date(2026, 11, 4), date(2026, 12, 1)]
    assert last30.last == TODAY
    assert parse_period("2026", TODAY).quarter == 1
