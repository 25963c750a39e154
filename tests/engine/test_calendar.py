"""Working-time arithmetic of the business calendar."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import BusinessCalendar

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def cal():
    return BusinessCalendar("Asia/Shanghai", [["08:30", "12:00"], ["13:30", "17:30"]], [5, 6])


def add(cal, *args, **kw):
    return cal.add(datetime(*args, tzinfo=SH), **kw).astimezone(SH).replace(tzinfo=None)


def test_friday_evening_hour_lands_on_monday_morning(cal):
    assert add(cal, 2026, 11, 27, 17, 0, hours=1) == datetime(2026, 11, 30, 9, 0)


def test_lunch_break_is_not_working_time(cal):
    assert add(cal, 2026, 11, 25, 11, 0, hours=2) == datetime(2026, 11, 25, 14, 30)


def test_statutory_holiday_is_skipped(cal):
    # National Day 2026: 1-7 October off (chinese-calendar data).
    assert add(cal, 2026, 9, 30, 17, 0, hours=1) == datetime(2026, 10, 8, 9, 0)


def test_local_override_makes_a_day_off(cal):
    cal.overrides[date(2026, 11, 30)] = False
    assert add(cal, 2026, 11, 27, 17, 0, hours=1) == datetime(2026, 12, 1, 9, 0)


def test_working_days_and_hours_add_up(cal):
    one_day = add(cal, 2026, 11, 25, 10, 0, days=1)
    assert one_day == datetime(2026, 11, 26, 10, 0)
    start = datetime(2026, 11, 25, 10, 0, tzinfo=SH)
    assert cal.add(cal.add(start, hours=3), hours=5) == cal.add(start, hours=8)


def test_years_without_holiday_data_fall_back_to_weekends_and_say_so(cal):
    assert add(cal, 2027, 1, 8, 17, 0, hours=1) == datetime(2027, 1, 11, 9, 0)
    assert 2027 in cal.uncovered_years


def test_emergency_uses_the_plain_clock(cal):
    assert add(cal, 2026, 11, 28, 23, 0, hours=2, emergency=True) == datetime(2026, 11, 29, 1, 0)


def test_naive_start_and_negative_limits_are_refused(cal):
    with pytest.raises(ValueError):
        cal.add(datetime(2026, 11, 25, 10, 0), hours=1)
    with pytest.raises(ValueError):
        cal.add(datetime(2026, 11, 25, 10, 0, tzinfo=SH), hours=-1)
