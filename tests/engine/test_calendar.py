"""Working-time arithmetic of the business calendar."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calendar.working_time import BusinessCalendar, load_overrides

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


def test_friday_evening_hour_lands_on_a_make_up_saturday(cal):
    # 2026-10-10 is a make-up working Saturday (调休) after National Day.
    assert add(cal, 2026, 10, 9, 17, 0, hours=1) == datetime(2026, 10, 10, 9, 0)


def test_working_hours_between_counts_only_working_time(cal):
    start = datetime(2026, 11, 27, 17, 0, tzinfo=SH)   # Friday
    end = datetime(2026, 11, 30, 9, 30, tzinfo=SH)     # Monday
    assert cal.working_hours_between(start, end) == 1.5
    assert cal.working_hours_between(end, start) == 0
    assert cal.working_hours_between(start, end, emergency=True) == 64.5


def test_local_calendar_file_adds_days_and_complete_years(tmp_path):
    path = tmp_path / "calendar.toml"
    path.write_text('complete_years = [2027]\n[days]\n"2027-01-01" = "holiday"\n"2027-02-06" = "workday"\n',
                    encoding="utf-8")
    days, years = load_overrides(path)
    assert days == {date(2027, 1, 1): False, date(2027, 2, 6): True} and years == {2027}
    cal = BusinessCalendar("Asia/Shanghai", [["08:30", "12:00"], ["13:30", "17:30"]], [5, 6], days, years)
    assert cal.missing_years(datetime(2026, 12, 31, tzinfo=SH), datetime(2027, 1, 5, tzinfo=SH)) == []
    assert add(cal, 2026, 12, 31, 17, 0, hours=1) == datetime(2027, 1, 4, 9, 0)  # New Year's Day off
    assert add(cal, 2027, 2, 5, 17, 0, hours=1) == datetime(2027, 2, 6, 9, 0)   # Saturday made a workday


@pytest.mark.parametrize("text, message", [
    ('[days]\n"2027-13-01" = "holiday"\n', "is not a date"),
    ('[days]\n"2027-01-01" = "off"\n', 'must be "holiday" or "workday"'),
    ("complete_years = 2027\n", "complete_years must be a list"),
    ("days = [", "not valid TOML"),
])
def test_a_broken_calendar_file_is_named_with_the_rule(tmp_path, text, message):
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_overrides(path)


def test_the_shipped_calendar_file_loads(tmp_path):
    from engine.settings import load_settings
    cal = BusinessCalendar.from_settings(load_settings())
    assert cal.has_data_for(2026) and not cal.has_data_for(2027)


# -- properties ------------------------------------------------------------------------------
starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30),
                      timezones=st.just(SH))
quarter_hours = st.integers(min_value=0, max_value=400).map(lambda n: n / 4)


def in_working_time(cal, moment):
    local = moment.astimezone(SH)
    if not cal.is_working_day(local.date()):
        return False
    t = local.time()
    return any(begin <= t <= end for begin, end in cal.periods)


@settings(max_examples=150, deadline=None)
@given(start=starts, hours=quarter_hours.filter(lambda h: h > 0))
def test_a_deadline_is_always_in_working_time(start, hours):
    cal = BusinessCalendar("Asia/Shanghai", [["08:30", "12:00"], ["13:30", "17:30"]], [5, 6])
    assert in_working_time(cal, cal.add(start, hours=hours))
    plain = cal.add(start, hours=hours, emergency=True)
    assert plain - start == timedelta(hours=hours)  # 24/7: the plain clock, any hour


@settings(max_examples=150, deadline=None)
@given(start=starts, a=quarter_hours, b=quarter_hours)
def test_adding_a_then_b_equals_adding_a_plus_b(start, a, b):
    cal = BusinessCalendar("Asia/Shanghai", [["08:30", "12:00"], ["13:30", "17:30"]], [5, 6])
    assert cal.add(cal.add(start, hours=a), hours=b) == cal.add(start, hours=a + b)


@settings(max_examples=150, deadline=None)
@given(start=starts, later_by=st.integers(min_value=0, max_value=72 * 60), hours=quarter_hours)
def test_a_later_start_never_gives_an_earlier_deadline(start, later_by, hours):
    cal = BusinessCalendar("Asia/Shanghai", [["08:30", "12:00"], ["13:30", "17:30"]], [5, 6])
    assert cal.add(start + timedelta(minutes=later_by), hours=hours) >= cal.add(start, hours=hours)


@settings(max_examples=100, deadline=None)
@given(start=starts, hours=quarter_hours)
def test_working_hours_between_inverts_add(start, hours):
    cal = BusinessCalendar("Asia/Shanghai", [["08:30", "12:00"], ["13:30", "17:30"]], [5, 6])
    assert abs(cal.working_hours_between(start, cal.add(start, hours=hours)) - hours) < 1e-6
