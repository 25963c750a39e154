"""Working-time arithmetic of the business calendar."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chinese_calendar

from engine.calendar.statutory import parse_statutory
from engine.calendar.working_time import BusinessCalendar, load_overrides, package_years
from engine.settings import load_settings

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
    cal = BusinessCalendar.from_settings(load_settings())
    assert cal.has_data_for(2026) and not cal.has_data_for(2027)


# -- years without official data: the holidays the law fixes -----------------------------------
@pytest.fixture
def shipped():
    return BusinessCalendar.from_settings(load_settings())


def test_covered_years_are_those_the_package_lists():
    listed = {day.year for day in chinese_calendar.holidays}
    assert set(package_years()) == set(range(min(listed), max(listed) + 1))
    last = package_years()[-1]
    chinese_calendar.is_workday(date(last, 6, 1))  # answers
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(last + 1, 6, 1))


def test_new_years_day_after_the_package_years_is_a_holiday_and_flagged(shipped):
    # Thursday 16:00 + 4 working hours: 1.5 h that day, then Friday 1 January (元旦) is off.
    assert add(shipped, 2026, 12, 31, 16, 0, hours=4) == datetime(2027, 1, 4, 11, 0)
    assert shipped.missing_years(datetime(2026, 12, 31, 16, tzinfo=SH), datetime(2027, 1, 4, 11, tzinfo=SH)) == [2027]


@pytest.mark.parametrize("day, holiday", [
    (date(2027, 2, 5), "春节"), (date(2027, 2, 8), "春节"),    # 除夕 (Friday) to 初三 (Monday)
    (date(2027, 4, 5), "清明节"), (date(2027, 5, 1), "劳动节"), (date(2027, 5, 2), "劳动节"),
    (date(2027, 6, 9), "端午节"), (date(2027, 9, 15), "中秋节"), (date(2027, 10, 1), "国庆节"),
    (date(2027, 10, 3), "国庆节"),
])
def test_the_law_s_holidays_of_2027_are_days_off(shipped, day, holiday):
    assert not shipped.is_working_day(day)
    assert shipped.statutory.days_off(2027)[day] == holiday


def test_around_the_law_s_holidays_of_2027_people_work(shipped):
    # The day after 初三 and the day after 中秋 are ordinary working days until the
    # State Council publishes its bridging days.
    assert shipped.is_working_day(date(2027, 2, 9)) and shipped.is_working_day(date(2027, 9, 16))
    assert add(shipped, 2027, 2, 4, 17, 0, hours=1) == datetime(2027, 2, 9, 9, 0)
    assert add(shipped, 2027, 6, 8, 17, 0, hours=1) == datetime(2027, 6, 10, 9, 0)


def test_a_year_with_official_data_ignores_the_statutory_list(shipped, cal):
    # 2026 National Day is 1-7 October with 10 October a make-up Saturday, as published.
    for day in (date(2026, 10, 5), date(2026, 10, 7), date(2026, 10, 10), date(2026, 1, 2)):
        assert shipped.is_working_day(day) == cal.is_working_day(day) == chinese_calendar.is_workday(day)
    assert add(shipped, 2026, 9, 30, 17, 0, hours=1) == add(cal, 2026, 9, 30, 17, 0, hours=1)


def test_a_complete_year_takes_its_days_from_the_local_file_only(tmp_path):
    path = tmp_path / "calendar.toml"
    path.write_text('complete_years = [2027]\nstatutory = [{name = "元旦", date = "01-01"}]\n'
                    '[days]\n"2027-01-04" = "holiday"\n', encoding="utf-8")
    cal = BusinessCalendar.from_settings({**load_settings(), "CALENDAR_FILE": str(path)})
    assert cal.is_working_day(date(2027, 1, 1)) and not cal.is_working_day(date(2027, 1, 4))


def test_a_changed_law_is_a_change_of_the_calendar_file(tmp_path):
    path = tmp_path / "calendar.toml"
    path.write_text('statutory = [{name = "劳动节", date = "05-01", days = 3},'
                    ' {name = "除夕", lunar = "01-01", offset = -1}]\n', encoding="utf-8")
    cal = BusinessCalendar.from_settings({**load_settings(), "CALENDAR_FILE": str(path)})
    assert [cal.is_working_day(date(2027, 5, d)) for d in (1, 2, 3, 4)] == [False, False, False, True]
    assert not cal.is_working_day(date(2027, 2, 5)) and not cal.is_working_day(date(2028, 1, 25))
    assert cal.is_working_day(date(2027, 2, 8))  # 初三: not a holiday under this law
    assert cal.is_working_day(date(2027, 1, 1))  # Friday, and 元旦 is not in this list


@pytest.mark.parametrize("entries, message", [
    ({"name": "元旦"}, "must be a list"),
    (["元旦"], "entry 1 must be a table"),
    ([{"date": "01-01"}], "entry 1: name must be"),
    ([{"name": "元旦"}], "exactly one of date, lunar or solar_term"),
    ([{"name": "元旦", "date": "01-01", "lunar": "01-01"}], "exactly one of"),
    ([{"name": "元旦", "date": "02-29"}], "date must be a Gregorian month-day"),
    ([{"name": "除夕", "lunar": "12-30"}], "lunar must be a lunar month-day"),
    ([{"name": "清明", "solar_term": "Qingming"}], "solar_term must be one of"),
    ([{"name": "国庆", "date": "10-01", "days": 0}], "days must be a whole number from 1 to 31"),
    ([{"name": "春节", "lunar": "01-01", "offset": "eve"}], "offset must be a whole number"),
    ([{"name": "国庆", "date": "10-01", "length": 3}], "unknown key 'length'"),
])
def test_a_broken_statutory_list_is_named_with_the_rule(entries, message):
    with pytest.raises(ValueError, match=message):
        parse_statutory(entries, "calendar.toml")


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


@settings(max_examples=100, deadline=None)
@given(start=starts, hours=quarter_hours.filter(lambda h: h > 0))
def test_a_deadline_after_the_package_years_never_falls_on_a_statutory_holiday(start, hours):
    cal = BusinessCalendar.from_settings(load_settings())
    due = cal.add(start, hours=hours).astimezone(SH)
    assert in_working_time(cal, due)
    if due.year not in package_years():
        assert due.date() not in cal.statutory.days_off(due.year)
