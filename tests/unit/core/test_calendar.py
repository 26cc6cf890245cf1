"""core.calendar: working days in mainland China, holidays and make-up days."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import add_working_days, is_working_day, working_days_between

# ------------------------------------------------------------------ working days
# Facts checked against the State Council notices (国务院办公厅关于2025年/2026年部分节假日安排的通知;
# the 2026 one of 4 Nov 2025) and against chinese_calendar.

@pytest.mark.parametrize("day", [f"2025-10-0{i}" for i in range(1, 9)] + [
    "2026-01-01", "2026-01-02", "2026-01-03",            # New Year 2026
    "2026-02-15", "2026-02-16", "2026-02-20", "2026-02-23",  # Spring Festival 2026
    "2026-05-01", "2026-05-05", "2026-10-01", "2026-10-07",
])
def test_holidays_are_not_working_days(day):
    assert not is_working_day(date.fromisoformat(day))


@pytest.mark.parametrize("day", [
    "2025-09-28", "2025-10-11",                # Sun / Sat make-up days for National Day 2025
    "2026-01-04", "2026-02-14", "2026-02-28",  # Sun / Sat / Sat make-up days 2026
    "2026-05-09", "2026-09-20", "2026-10-10",
    "2025-10-09", "2026-02-24",               # ordinary weekdays right after the holidays
])
def test_make_up_and_ordinary_working_days(day):
    assert is_working_day(date.fromisoformat(day))


def test_ordinary_weekend_is_not_a_working_day():
    assert not is_working_day(date(2025, 10, 12))  # Sunday
    assert not is_working_day(date(2025, 11, 15))  # Saturday


def test_fallback_outside_covered_years_is_monday_to_friday():
    assert is_working_day(date(2099, 1, 1))       # a Thursday: holidays of 2099 are unknown
    assert not is_working_day(date(2099, 1, 3))   # Saturday
    assert [is_working_day(date(1999, 10, d)) for d in range(4, 11)] == [True] * 5 + [False] * 2


def test_add_working_days_over_national_day_2025():
    assert add_working_days(date(2025, 9, 30), 0) == date(2025, 9, 30)
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    assert add_working_days(date(2025, 9, 30), 3) == date(2025, 10, 11)  # Thu, Fri, make-up Sat
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Fri → make-up Sunday


def test_add_working_days_over_spring_festival_2026():
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)  # make-up Saturday
    assert add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)


def test_add_working_days_refuses_negative():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 5), -1)


def test_working_days_between():
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == 0
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 11)) == 3
    assert working_days_between(date(2025, 10, 11), date(2025, 9, 30)) == -3
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5


days = st.dates(min_value=date(2003, 6, 1), max_value=date(2028, 6, 1))


@given(days, st.integers(0, 40))
def test_add_and_count_are_inverse(start, n):
    end = add_working_days(start, n)
    assert working_days_between(start, end) == n
    assert end >= start
    if n:
        assert is_working_day(end)
        assert add_working_days(start, n - 1) < end


@settings(deadline=None)  # a year of calendar look-ups: slow on a loaded machine, never wrong
@given(days, st.integers(-400, 400))
def test_between_is_antisymmetric_and_additive(a, offset):
    b = a + timedelta(days=offset)
    assert working_days_between(a, b) == -working_days_between(b, a)
    middle = a + timedelta(days=offset // 2)
    assert working_days_between(a, b) == working_days_between(a, middle) + working_days_between(middle, b)
