"""Working days over a calendar with holidays and make-up working days (调休).

The Spring Festival block below is fixture data shaped like a 2026 schedule, not a
statement of the real one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.calendar import (
    WorkingCalendar,
    due_after,
    is_overdue,
    local_date,
    on_time,
)
from bot.domain.errors import InvalidInput

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = date

PLAIN = WorkingCalendar()
# Spring Festival: Sun 15 Feb .. Mon 23 Feb 2026 off; Sat 14 Feb and Sat 28 Feb worked.
SPRING_HOLIDAYS = [D(2026, 2, 15) + timedelta(days=i) for i in range(9)]
SPRING_WORKDAYS = [D(2026, 2, 14), D(2026, 2, 28)]
SPRING = WorkingCalendar.of(SPRING_HOLIDAYS, SPRING_WORKDAYS)
# A single holiday on a Wednesday, and a make-up Saturday.
MIDWEEK = WorkingCalendar.of(holidays=[D(2026, 3, 11)], workdays=[D(2026, 3, 14)])


def test_fixture_weekdays():
    # Guard the fixture itself: these are the weekdays the cases below assume.
    assert D(2026, 3, 2).strftime("%a") == "Mon"
    assert D(2026, 2, 14).strftime("%a") == "Sat"
    assert D(2026, 2, 28).strftime("%a") == "Sat"
    assert D(2026, 2, 15).strftime("%a") == "Sun"
    assert D(2026, 2, 23).strftime("%a") == "Mon"
    assert D(2026, 3, 11).strftime("%a") == "Wed"
    assert SPRING_HOLIDAYS[-1] == D(2026, 2, 23)


@pytest.mark.parametrize(
    ("calendar", "day", "working"),
    [
        (PLAIN, D(2026, 3, 2), True),  # Monday
        (PLAIN, D(2026, 3, 6), True),  # Friday
        (PLAIN, D(2026, 3, 7), False),  # Saturday
        (PLAIN, D(2026, 3, 8), False),  # Sunday
        (MIDWEEK, D(2026, 3, 11), False),  # holiday on a Wednesday
        (MIDWEEK, D(2026, 3, 14), True),  # make-up Saturday
        (MIDWEEK, D(2026, 3, 15), False),  # the Sunday after stays off
        (SPRING, D(2026, 2, 13), True),  # Friday before
        (SPRING, D(2026, 2, 14), True),  # make-up Saturday
        (SPRING, D(2026, 2, 16), False),  # Monday in the block
        (SPRING, D(2026, 2, 20), False),  # Friday in the block
        (SPRING, D(2026, 2, 23), False),  # last day of the block
        (SPRING, D(2026, 2, 24), True),  # first day back
        (SPRING, D(2026, 2, 28), True),  # make-up Saturday
        (SPRING, D(2026, 3, 1), False),  # ordinary Sunday
    ],
)
def test_is_working_day(calendar: WorkingCalendar, day: date, working: bool):
    assert calendar.is_working_day(day) is working


@pytest.mark.parametrize(
    ("calendar", "start", "days", "expected"),
    [
        # Ordinary weeks.
        (PLAIN, D(2026, 3, 2), 0, D(2026, 3, 2)),
        (PLAIN, D(2026, 3, 2), 1, D(2026, 3, 3)),
        (PLAIN, D(2026, 3, 2), 4, D(2026, 3, 6)),
        (PLAIN, D(2026, 3, 2), 5, D(2026, 3, 9)),  # Monday -> next Monday
        (PLAIN, D(2026, 3, 6), 1, D(2026, 3, 9)),  # Friday -> Monday
        (PLAIN, D(2026, 3, 7), 1, D(2026, 3, 9)),  # Saturday -> Monday
        (PLAIN, D(2026, 3, 8), 5, D(2026, 3, 13)),  # Sunday -> Friday
        (PLAIN, D(2026, 3, 2), 10, D(2026, 3, 16)),
        # A holiday on a weekday is skipped; the make-up Saturday counts.
        (MIDWEEK, D(2026, 3, 10), 1, D(2026, 3, 12)),
        (MIDWEEK, D(2026, 3, 9), 4, D(2026, 3, 14)),  # 10, 12, 13, 14 (make-up)
        (MIDWEEK, D(2026, 3, 9), 5, D(2026, 3, 16)),  # ... Sunday off, 16
        (MIDWEEK, D(2026, 3, 13), 1, D(2026, 3, 14)),  # Friday -> make-up Saturday
        (MIDWEEK, D(2026, 3, 13), 2, D(2026, 3, 16)),
        # Spring Festival block.
        (SPRING, D(2026, 2, 13), 1, D(2026, 2, 14)),  # Friday -> make-up Saturday
        (SPRING, D(2026, 2, 13), 2, D(2026, 2, 24)),  # then over the whole block
        (SPRING, D(2026, 2, 12), 5, D(2026, 2, 26)),  # 13, 14, (block), 24, 25, 26
        (SPRING, D(2026, 2, 9), 5, D(2026, 2, 14)),  # filed Monday, due make-up Saturday
        (SPRING, D(2026, 2, 16), 1, D(2026, 2, 24)),  # filed inside the block
        (SPRING, D(2026, 2, 24), 4, D(2026, 2, 28)),  # 25 26 27 28(make-up)
        (SPRING, D(2026, 2, 24), 5, D(2026, 3, 2)),
        # Zero days on a day off rolls forward to the next working day.
        (SPRING, D(2026, 2, 15), 0, D(2026, 2, 24)),
        (SPRING, D(2026, 2, 23), 0, D(2026, 2, 24)),
        (SPRING, D(2026, 2, 14), 0, D(2026, 2, 14)),
        (MIDWEEK, D(2026, 3, 11), 0, D(2026, 3, 12)),
        (PLAIN, D(2026, 3, 7), 0, D(2026, 3, 9)),
    ],
)
def test_add_working_days(calendar: WorkingCalendar, start: date, days: int, expected: date):
    assert calendar.add_working_days(start, days) == expected


def test_negative_days_rejected():
    with pytest.raises(InvalidInput):
        PLAIN.add_working_days(D(2026, 3, 2), -1)
    with pytest.raises(InvalidInput):
        due_after(PLAIN, datetime(2026, 3, 2, tzinfo=UTC), -3, SHANGHAI)


@pytest.mark.parametrize(
    ("calendar", "start", "end", "expected"),
    [
        (PLAIN, D(2026, 3, 2), D(2026, 3, 2), 0),
        (PLAIN, D(2026, 3, 2), D(2026, 3, 3), 1),
        (PLAIN, D(2026, 3, 2), D(2026, 3, 9), 5),
        (PLAIN, D(2026, 3, 6), D(2026, 3, 8), 0),  # Friday -> Sunday
        (PLAIN, D(2026, 3, 7), D(2026, 3, 9), 1),
        (MIDWEEK, D(2026, 3, 9), D(2026, 3, 16), 5),  # 10, 12, 13, 14, 16 (11 off)
        (SPRING, D(2026, 2, 13), D(2026, 2, 24), 2),
        (SPRING, D(2026, 2, 14), D(2026, 2, 23), 0),
        # Feb 2-6, 9-13, 14 (make-up), 24-27, 28 (make-up): 5 + 5 + 1 + 4 + 1.
        (SPRING, D(2026, 2, 1), D(2026, 3, 1), 16),
    ],
)
def test_working_days_between(calendar: WorkingCalendar, start: date, end: date, expected: int):
    assert calendar.working_days_between(start, end) == expected
    assert calendar.working_days_between(end, start) == -expected


def test_a_day_cannot_be_both_holiday_and_workday():
    with pytest.raises(InvalidInput):
        WorkingCalendar.of(holidays=[D(2026, 2, 14)], workdays=[D(2026, 2, 14)])
    with pytest.raises(InvalidInput):
        WorkingCalendar.of(SPRING_HOLIDAYS, [*SPRING_WORKDAYS, D(2026, 2, 20)])


def test_calendar_of_accepts_any_iterable():
    cal = WorkingCalendar.of(iter(SPRING_HOLIDAYS), (d for d in SPRING_WORKDAYS))
    assert cal == SPRING


# ---- time zones ---------------------------------------------------------------------


def test_local_date_uses_the_office_time_zone():
    moment = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # Sunday in UTC
    assert local_date(moment, SHANGHAI) == D(2026, 3, 2)  # Monday in Shanghai
    assert local_date(moment, ZoneInfo("UTC")) == D(2026, 3, 1)
    assert local_date(datetime(2026, 3, 1, 15, 59, tzinfo=UTC), SHANGHAI) == D(2026, 3, 1)
    assert local_date(datetime(2026, 3, 1, 16, 0, tzinfo=UTC), SHANGHAI) == D(2026, 3, 2)


def test_deadline_counts_from_the_local_date():
    moment = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    # Monday 2 March in Shanghai: five working days later is Monday 9 March.
    assert due_after(PLAIN, moment, 5, SHANGHAI) == D(2026, 3, 9)
    # Counted from the UTC date (a Sunday) it would have been Friday 6 March.
    assert due_after(PLAIN, moment, 5, ZoneInfo("UTC")) == D(2026, 3, 6)
    # Filed at 23:30 Shanghai on the Friday before the block, due after it.
    friday_night = datetime(2026, 2, 13, 23, 30, tzinfo=SHANGHAI)
    assert due_after(SPRING, friday_night, 2, SHANGHAI) == D(2026, 2, 24)


@pytest.mark.parametrize(
    "call",
    [
        lambda: local_date(datetime(2026, 3, 1, 17, 30), SHANGHAI),
        lambda: due_after(PLAIN, datetime(2026, 3, 1, 17, 30), 5, SHANGHAI),
        lambda: on_time(datetime(2026, 3, 1, 17, 30), D(2026, 3, 2), SHANGHAI),
        lambda: is_overdue(datetime(2026, 3, 1, 17, 30), D(2026, 3, 2), SHANGHAI),
    ],
    ids=["local_date", "due_after", "on_time", "is_overdue"],
)
def test_naive_datetimes_rejected(call):
    with pytest.raises(InvalidInput):
        call()


@pytest.mark.parametrize(
    ("done_at", "due", "expected"),
    [
        (datetime(2026, 3, 9, 12, 0, tzinfo=SHANGHAI), D(2026, 3, 9), True),  # on the day
        (datetime(2026, 3, 9, 23, 59, tzinfo=SHANGHAI), D(2026, 3, 9), True),
        (datetime(2026, 3, 5, 9, 0, tzinfo=SHANGHAI), D(2026, 3, 9), True),  # early
        (datetime(2026, 3, 10, 0, 0, tzinfo=SHANGHAI), D(2026, 3, 9), False),  # a day late
        # 16:30 UTC on the 9th is already the 10th in Shanghai: late.
        (datetime(2026, 3, 9, 16, 30, tzinfo=UTC), D(2026, 3, 9), False),
        (datetime(2026, 3, 9, 15, 30, tzinfo=UTC), D(2026, 3, 9), True),
        (datetime(2026, 3, 9, 12, 0, tzinfo=SHANGHAI), None, None),  # no deadline
    ],
)
def test_on_time(done_at: datetime, due: date | None, expected: bool | None):
    assert on_time(done_at, due, SHANGHAI) is expected


@pytest.mark.parametrize(
    ("now", "due", "expected"),
    [
        (datetime(2026, 3, 9, 23, 59, tzinfo=SHANGHAI), D(2026, 3, 9), False),
        (datetime(2026, 3, 10, 0, 0, tzinfo=SHANGHAI), D(2026, 3, 9), True),
        (datetime(2026, 3, 8, 9, 0, tzinfo=SHANGHAI), D(2026, 3, 9), False),
        (datetime(2026, 3, 9, 16, 0, tzinfo=UTC), D(2026, 3, 9), True),  # 00:00 on the 10th
        (datetime(2026, 3, 9, 15, 59, tzinfo=UTC), D(2026, 3, 9), False),
        (datetime(2030, 1, 1, tzinfo=UTC), None, False),  # no deadline, never overdue
    ],
)
def test_is_overdue(now: datetime, due: date | None, expected: bool):
    assert is_overdue(now, due, SHANGHAI) is expected


# ---- properties ---------------------------------------------------------------------

CALENDARS = st.sampled_from([PLAIN, MIDWEEK, SPRING])
STARTS = st.dates(min_value=D(2025, 12, 1), max_value=D(2026, 4, 30))


@settings(max_examples=300, deadline=None)
@given(calendar=CALENDARS, start=STARTS, n=st.integers(min_value=0, max_value=40))
def test_add_then_count_round_trips(calendar: WorkingCalendar, start: date, n: int):
    result = calendar.add_working_days(start, n)
    assert calendar.is_working_day(result)
    assert result >= start
    if n > 0:
        assert result > start
        assert calendar.working_days_between(start, result) == n
        # The day before the result is one working day short.
        assert calendar.working_days_between(start, result - timedelta(days=1)) == n - 1


@settings(max_examples=200, deadline=None)
@given(calendar=CALENDARS, a=STARTS, b=STARTS)
def test_working_days_between_is_antisymmetric(calendar: WorkingCalendar, a: date, b: date):
    assert calendar.working_days_between(a, b) == -calendar.working_days_between(b, a)


# The State Council's 2026 National Day block, as the migration ships it: 1-7 October
# off, Sunday 20 September and Saturday 10 October worked; Mid-Autumn 25-27 September.
NATIONAL_DAY = WorkingCalendar.of(
    holidays=[D(2026, 9, 25), D(2026, 9, 26), D(2026, 9, 27)]
    + [D(2026, 10, d) for d in range(1, 8)],
    workdays=[D(2026, 9, 20), D(2026, 10, 10)],
)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Filed Tuesday 29 Sep: 30 Sep, then 8, 9, 10 (the make-up Saturday), 12 Oct.
        (D(2026, 9, 29), 5, D(2026, 10, 12)),
        # Filed on the make-up Sunday 20 Sep: 21, 22, 23, 24, then 28 (25-27 off).
        (D(2026, 9, 20), 5, D(2026, 9, 28)),
        # Filed on a holiday: the clock starts with the next working day.
        (D(2026, 10, 3), 1, D(2026, 10, 8)),
        (D(2026, 10, 3), 0, D(2026, 10, 8)),
    ],
)
def test_deadlines_across_national_day(start, days, due):
    assert NATIONAL_DAY.add_working_days(start, days) == due


def test_working_days_between_across_national_day():
    # (30 Sep, 12 Oct]: 8, 9, 10 (Saturday, worked), 12.
    assert NATIONAL_DAY.working_days_between(D(2026, 9, 30), D(2026, 10, 12)) == 4
    assert NATIONAL_DAY.working_days_between(D(2026, 10, 12), D(2026, 9, 30)) == -4
    assert NATIONAL_DAY.is_working_day(D(2026, 9, 20))
    assert not NATIONAL_DAY.is_working_day(D(2026, 10, 5))
