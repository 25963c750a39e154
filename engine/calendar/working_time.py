"""Working-time arithmetic: working periods, weekends, statutory holidays and make-up days."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import tomllib
from pathlib import Path

import chinese_calendar

from engine.calendar.statutory import StatutoryCalendar, parse_statutory


def package_years() -> range:
    """Return the years the installed chinese-calendar has official data for.

    The package answers only for the years between its first and last listed holiday.
    """
    return range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


_PACKAGE_YEARS = package_years()


class BusinessCalendar:
    """Add working time to an instant; emergencies use the plain 24/7 clock.

    Holidays and make-up working days come from ``chinese-calendar``; ``overrides`` maps a
    date to True (working) or False (day off) and wins over it. Years the package does not
    cover count the ``statutory`` holidays and weekends, and are remembered in
    ``uncovered_years``.
    """

    def __init__(self, timezone_name: str, periods: list[list[str]], weekend_days: list[int],
                 overrides: dict[date, bool] | None = None, complete_years: set[int] | None = None,
                 statutory: StatutoryCalendar | None = None):
        self.tz = ZoneInfo(timezone_name)
        self.periods = [(_parse_hm(a), _parse_hm(b)) for a, b in periods]
        if not self.periods or any(a >= b for a, b in self.periods):
            raise ValueError("WORKING_PERIODS: each period must be [start, end] with start < end")
        self.weekend_days = set(weekend_days)
        self.overrides = dict(overrides or {})
        self.complete_years = set(complete_years or ())
        self.statutory = statutory or StatutoryCalendar()
        self.uncovered_years: set[int] = set()
        self.day_length = sum((_minutes(b) - _minutes(a) for a, b in self.periods), 0)

    @classmethod
    def from_settings(cls, settings: dict) -> BusinessCalendar:
        path = settings.get("CALENDAR_FILE")
        doc = read_calendar_file(path)
        overrides, complete = parse_overrides(doc, path)
        return cls(settings["TIMEZONE"], settings["WORKING_PERIODS"], settings["WEEKEND_DAYS"],
                   overrides, complete, parse_statutory(doc.get("statutory"), str(path)))

    def has_data_for(self, year: int) -> bool:
        """True when holidays and make-up days of ``year`` are known (package or local file)."""
        return year in self.complete_years or year in _PACKAGE_YEARS

    def missing_years(self, start: datetime, end: datetime) -> list[int]:
        """Years between two instants whose holidays are not known; deadlines there are estimates."""
        first, last = (start.astimezone(self.tz).year, end.astimezone(self.tz).year)
        return [y for y in range(min(first, last), max(first, last) + 1) if not self.has_data_for(y)]

    def working_hours_between(self, start: datetime, end: datetime, *, emergency: bool = False) -> float:
        """Return the working hours from ``start`` to ``end`` (0 when end is not later)."""
        if end <= start:
            return 0.0
        if emergency:
            return (end - start).total_seconds() / 3600
        total = timedelta(0)
        local, stop = start.astimezone(self.tz), end.astimezone(self.tz)
        day = local.date()
        while day <= stop.date():
            if self.is_working_day(day):
                for begin, finish in self.periods:
                    p_start = max(datetime.combine(day, begin, self.tz), local)
                    p_end = min(datetime.combine(day, finish, self.tz), stop)
                    if p_end > p_start:
                        total += p_end - p_start
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    def intervals_between(self, start: datetime, end: datetime, *, hours: float = 0, days: float = 0,
                          emergency: bool = False) -> int:
        """Return how many whole intervals of working time fit from ``start`` to ``end``.

        Counted so that ``add(start, k intervals) <= end`` exactly for the k returned (no
        floating-point rounding at the boundaries).
        """
        if hours < 0 or days < 0 or not (hours or days):
            raise ValueError("an interval must be a positive amount of time")
        if end <= start:
            return 0
        length = hours + days * (24 if emergency else self.day_length / 60)
        k = int(self.working_hours_between(start, end, emergency=emergency) // length)
        step = lambda n: self.add(start, hours=hours * n, days=days * n, emergency=emergency)
        while k > 0 and step(k) > end:
            k -= 1
        while step(k + 1) <= end:
            k += 1
        return k

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        working = _package_workday(day)
        if working is None:
            self.uncovered_years.add(day.year)
            # A complete year has all its days off in the local file, which answered above.
            if day.year not in self.complete_years and self.statutory.is_holiday(day):
                return False
            return day.weekday() not in self.weekend_days
        return working

    def add(self, start: datetime, *, hours: float = 0, days: float = 0,
            emergency: bool = False) -> datetime:
        """Return ``start`` plus ``days`` working days and ``hours`` working hours, in UTC.

        A working day counts as the length of the day's working periods, so adding a then b
        equals adding a + b.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if hours < 0 or days < 0:
            raise ValueError("a time limit cannot be negative")
        if emergency:
            return (start + timedelta(days=days, hours=hours)).astimezone(timezone.utc)
        remaining = timedelta(minutes=days * self.day_length + hours * 60)
        if not remaining:
            return start.astimezone(timezone.utc)
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(3660):  # ten years of days is a safe bound for any limit
            if self.is_working_day(day):
                for begin, end in self.periods:
                    p_start = datetime.combine(day, begin, self.tz)
                    p_end = datetime.combine(day, end, self.tz)
                    if p_end <= local:
                        continue
                    cursor = max(local, p_start)
                    available = p_end - cursor
                    if remaining <= available:
                        return (cursor + remaining).astimezone(timezone.utc)
                    remaining -= available
                    local = p_end
            day += timedelta(days=1)
            local = max(local, datetime.combine(day, time(0), self.tz))
        raise ValueError("time limit too long for the business calendar")


@lru_cache(maxsize=8192)
def _package_workday(day: date) -> bool | None:
    """Ask chinese-calendar once per day (it scans its whole holiday table on every call);
    None for a year it has no data for."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


def load_overrides(path: str | Path | None) -> tuple[dict[date, bool], set[int]]:
    """Read the local calendar file: ``[days]`` of "holiday"/"workday" and ``complete_years``."""
    return parse_overrides(read_calendar_file(path), path)


def read_calendar_file(path: str | Path | None) -> dict:
    """Return the calendar file as a table; an unset or absent file is empty."""
    if not path or not Path(path).exists():
        return {}
    with open(path, "rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None


def parse_overrides(doc: dict, path: str | Path | None) -> tuple[dict[date, bool], set[int]]:
    """Return the ``[days]`` and ``complete_years`` of a calendar file already read."""
    days: dict[date, bool] = {}
    for key, value in (doc.get("days") or {}).items():
        try:
            day = date.fromisoformat(str(key))
        except ValueError:
            raise ValueError(f"{path}: [days] key {key!r} is not a date like 2027-01-01") from None
        if value not in ("holiday", "workday"):
            raise ValueError(f"{path}: [days] {key} must be \"holiday\" or \"workday\", not {value!r}")
        days[day] = value == "workday"
    years = doc.get("complete_years", [])
    if not isinstance(years, list) or not all(isinstance(y, int) for y in years):
        raise ValueError(f"{path}: complete_years must be a list of years, e.g. [2027]")
    return days, set(years)


def _parse_hm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute
