"""Reading a typed date: every accepted form of every day reads back as that day, a
year-less one is the next such day from today, ambiguous and impossible ones are
refused with their reason, and nothing typed makes the parser fail otherwise. Also the
calendar's answers the date prompts rely on: which years are loaded, which day is off.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.calendar import DayOff, WorkingCalendar
from bot.domain.dates import (
    AHEAD_MAX,
    AMBIGUOUS,
    NO_SUCH_DAY,
    PAST,
    TOO_FAR,
    UNREADABLE,
    BadDate,
    parse_date,
    parse_due,
)

D = date
TODAY = D(2026, 3, 2)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
FULL = ["January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December"]  # fmt: skip

days = st.dates(min_value=D(2000, 1, 1), max_value=D(2099, 12, 31))


def with_year(d: date) -> list[str]:
    m, dd, y = d.month, d.day, d.year
    return [
        d.isoformat(),
        f"{y}-{m}-{dd}",
        f"{y}/{m:02d}/{dd:02d}",
        f"{y}/{m}/{dd}",
        f"{y}.{m}.{dd}",
        f"{y}年{m}月{dd}日",
        f"{y} 年 {m} 月 {dd} 号",
        f"{dd:02d}.{m:02d}.{y}",
        f"{dd}.{m}.{y}",
        f"{dd} {MONTHS[m - 1]} {y}",
        f"{dd} {FULL[m - 1].lower()} {y}",
        f"{FULL[m - 1]} {dd}, {y}",
        f"{MONTHS[m - 1]}. {dd} {y}",
    ]


def without_year(m: int, dd: int) -> list[str]:
    return [
        f"{m}-{dd}",
        f"{m:02d}-{dd:02d}",
        f"{m}月{dd}日",
        f"{m}月{dd}号",
        f"{m}月{dd}",
        f"{dd}.{m}",
        f"{dd:02d}.{m:02d}.",
        f"{dd} {MONTHS[m - 1]}",
        f"{MONTHS[m - 1]} {dd}",
    ]


def wide(text: str) -> str:
    """As a Chinese input method in full-width mode types it."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# ---- the forms of the issue -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["2026-12-25", "2026/12/25", "2026年12月25日", "12月25日", "12-25", "25.12", "25.12.2026",
     " 2026-12-25 ", "12月25日。", "２０２６－１２－２５", "１２月２５日", "Dec 25", "25 December"],
)  # fmt: skip
def test_the_forms_people_type_all_read_christmas(text: str) -> None:
    assert parse_date(text, TODAY) == D(2026, 12, 25)


def test_a_year_less_date_is_the_next_one_from_today() -> None:
    new_years_eve = D(2026, 12, 30)
    assert parse_date("1-5", new_years_eve) == D(2027, 1, 5)
    assert parse_date("5.1", new_years_eve) == D(2027, 1, 5)
    assert parse_date("12-30", new_years_eve) == new_years_eve  # today is not the past
    assert parse_date("12月29日", new_years_eve) == D(2027, 12, 29)


def test_the_29th_of_february_waits_for_a_leap_year() -> None:
    assert parse_date("2-29", D(2027, 3, 1)) == D(2028, 2, 29)
    assert parse_date("29.2", D(2028, 2, 29)) == D(2028, 2, 29)
    assert parse_date("2月29日", D(2096, 3, 1)) == D(2104, 2, 29)  # 2100 is no leap year


@pytest.mark.parametrize(
    "text", ["12/25", "25/12", "05/06", "5/6/2026", "25/12/2026", "12/25/26", "１２／２５"]
)
def test_slashes_without_the_year_first_are_ambiguous(text: str) -> None:
    with pytest.raises(BadDate) as refused:
        parse_date(text, TODAY)
    assert refused.value.reason == AMBIGUOUS


@pytest.mark.parametrize(
    "text", ["2026-02-29", "2026-13-01", "2026-00-10", "13-01", "2-30", "31.4", "4月31日",
             "0000-01-01", "31 Jun"],
)  # fmt: skip
def test_days_that_do_not_exist(text: str) -> None:
    with pytest.raises(BadDate) as refused:
        parse_date(text, TODAY)
    assert refused.value.reason == NO_SUCH_DAY


@pytest.mark.parametrize(
    "text", ["", "next month", "tomorrow", "25.12.26", "26-12-25", "2026-12", "20261225",
             "12月", "2026-12-25 前", "Smarch 3", "12.25.2026x", "2026-12/25"],
)  # fmt: skip
def test_what_is_not_a_date(text: str) -> None:
    with pytest.raises(BadDate) as refused:
        parse_date(text, TODAY)
    assert refused.value.reason == UNREADABLE


def test_a_due_date_is_today_or_later_and_not_years_ahead() -> None:
    assert parse_due("2026-03-02", TODAY) == TODAY
    with pytest.raises(BadDate) as past:
        parse_due("2026-03-01", TODAY)
    assert (past.value.reason, past.value.day) == (PAST, D(2026, 3, 1))
    assert parse_due((TODAY + AHEAD_MAX).isoformat(), TODAY) == TODAY + AHEAD_MAX
    with pytest.raises(BadDate) as far:
        parse_due("2099-01-01", TODAY)
    assert (far.value.reason, far.value.day) == (TOO_FAR, D(2099, 1, 1))
    # A year-less date is never in the past.
    assert parse_due("3-1", TODAY) == D(2027, 3, 1)


# ---- properties -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(d=days, today=days, form=st.integers(min_value=0, max_value=12), widen=st.booleans())
def test_every_form_with_a_year_reads_back_the_same_day(
    d: date, today: date, form: int, widen: bool
) -> None:
    text = with_year(d)[form]
    assert parse_date(wide(text) if widen else text, today) == d


@settings(max_examples=300, deadline=None)
@given(d=days, today=days, form=st.integers(min_value=0, max_value=8))
def test_a_form_without_a_year_is_the_first_such_day_from_today(
    d: date, today: date, form: int
) -> None:
    read = parse_date(without_year(d.month, d.day)[form], today)
    assert (read.month, read.day) == (d.month, d.day)
    assert read >= today
    # No such day lies between today and the one read.
    for year in range(today.year, read.year):
        try:
            earlier = D(year, d.month, d.day)
        except ValueError:
            continue
        assert earlier < today
    if (d.month, d.day) != (2, 29):
        assert read - today < timedelta(days=366)


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=30), today=days)
def test_anything_typed_is_a_date_or_a_reason(text: str, today: date) -> None:
    reason = None
    try:
        read = parse_date(text, today)
    except BadDate as refused:
        reason = refused.reason
    else:
        assert isinstance(read, date)
    assert reason in (None, UNREADABLE, AMBIGUOUS, NO_SUCH_DAY)


@settings(max_examples=200, deadline=None)
@given(
    a=st.integers(min_value=1, max_value=31),
    b=st.integers(min_value=1, max_value=31),
    year=st.one_of(st.none(), st.integers(min_value=0, max_value=2099)),
)
def test_no_slashed_day_and_month_is_ever_guessed(a: int, b: int, year: int | None) -> None:
    text = f"{a}/{b}" if year is None else f"{a}/{b}/{year}"
    with pytest.raises(BadDate) as refused:
        parse_date(text, TODAY)
    assert refused.value.reason == AMBIGUOUS


# ---- the calendar's answers -----------------------------------------------------------

NEW_YEAR_2026 = [D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 3)]
CALENDAR = WorkingCalendar.of(holidays=NEW_YEAR_2026, workdays=[D(2026, 1, 4)])


def test_a_year_is_loaded_when_the_office_recorded_any_day_of_it() -> None:
    assert CALENDAR.years == frozenset({2026})
    assert WorkingCalendar().years == frozenset()
    assert CALENDAR.missing_years(D(2026, 12, 1), D(2027, 1, 1)) == [2027]
    assert CALENDAR.missing_years(D(2026, 3, 2), D(2026, 3, 30)) == []
    assert CALENDAR.missing_years(D(2026, 3, 2), D(2028, 3, 30)) == [2027, 2028]


def test_why_a_day_is_off() -> None:
    assert CALENDAR.day_off(D(2026, 1, 1)) is DayOff.HOLIDAY  # a Thursday
    assert CALENDAR.day_off(D(2026, 1, 4)) is None  # a Sunday worked (调休)
    assert CALENDAR.day_off(D(2026, 1, 10)) is DayOff.WEEKEND
    assert CALENDAR.day_off(D(2026, 1, 5)) is None


@settings(max_examples=200, deadline=None)
@given(day=days)
def test_a_day_is_off_exactly_when_it_is_not_a_working_day(day: date) -> None:
    assert (CALENDAR.day_off(day) is None) == CALENDAR.is_working_day(day)
