"""Holidays fixed by law, for years whose official arrangement (调休) is not published yet."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from tyme4py.lunar import LunarDay
from tyme4py.solar import SolarTerm

ANCHORS = ("date", "lunar", "solar_term")
_KEYS = {"name", "offset", "days", *ANCHORS}


@dataclass(frozen=True)
class StatutoryHoliday:
    """One holiday of the law: it starts ``offset`` days from its anchor and lasts ``days`` days.

    The anchor is a Gregorian month-day (``date``), a month-day of the Chinese lunar calendar
    (``lunar``) or one of the 24 solar terms (``solar_term``).
    """

    name: str
    anchor: str
    month: int = 0
    day: int = 0
    term: str = ""
    offset: int = 0
    days: int = 1

    def first_day(self, year: int) -> date:
        """Return the anchor in ``year`` moved by ``offset``.

        A lunar year starts at 正月初一 and tyme4py's solar-term year at the previous 冬至, so
        the day can fall in the Gregorian year before or after; :func:`_days_off` sorts that out.
        """
        if self.anchor == "date":
            start = date(year, self.month, self.day)
        elif self.anchor == "lunar":
            start = _solar(LunarDay.from_ymd(year, self.month, self.day).get_solar_day())
        else:
            start = _solar(SolarTerm.from_name(year, self.term).get_julian_day().get_solar_day())
        return start + timedelta(days=self.offset)


class StatutoryCalendar:
    """The days off the law fixes, year by year, without the bridging and make-up days."""

    def __init__(self, holidays: list[StatutoryHoliday] | tuple[StatutoryHoliday, ...] = ()):
        self.holidays = tuple(holidays)

    def is_holiday(self, day: date) -> bool:
        return day in self.days_off(day.year)

    def days_off(self, year: int) -> dict[date, str]:
        """Map each statutory day off in Gregorian ``year`` to its holiday's name."""
        return _days_off(self.holidays, year)


@lru_cache(maxsize=64)
def _days_off(holidays: tuple[StatutoryHoliday, ...], year: int) -> dict[date, str]:
    found: dict[date, str] = {}
    # A lunar date or an offset can cross New Year, so anchors of the years around are tried too.
    for anchor_year in (year - 1, year, year + 1):
        for holiday in holidays:
            first = holiday.first_day(anchor_year)
            for n in range(holiday.days):
                day = first + timedelta(days=n)
                if day.year == year:
                    found.setdefault(day, holiday.name)
    return found


def parse_statutory(entries, source: str) -> StatutoryCalendar:
    """Read the ``statutory`` list of the calendar file; name the entry and the rule it breaks."""
    if entries is None:
        return StatutoryCalendar()
    if not isinstance(entries, list):
        raise ValueError(f"{source}: statutory must be a list of holidays like "
                         '{name = "元旦", date = "01-01", days = 1}')
    return StatutoryCalendar([_parse_entry(entry, n, source) for n, entry in enumerate(entries, 1)])


def _parse_entry(entry, n: int, source: str) -> StatutoryHoliday:
    where = f"{source}: statutory entry {n}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be a table like {{name = \"元旦\", date = \"01-01\", days = 1}}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: name must be the holiday's name")
    where = f"{source}: statutory {name!r}"
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_KEYS))}")
    anchors = [a for a in ANCHORS if a in entry]
    if len(anchors) != 1:
        raise ValueError(f"{where}: give exactly one of date, lunar or solar_term")
    offset, days = entry.get("offset", 0), entry.get("days", 1)
    if not isinstance(offset, int) or isinstance(offset, bool) or abs(offset) > 31:
        raise ValueError(f"{where}: offset must be a whole number of days between -31 and 31")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 31:
        raise ValueError(f"{where}: days must be a whole number from 1 to 31")
    anchor = anchors[0]
    value = entry[anchor]
    if anchor == "solar_term":
        if value not in SolarTerm.NAMES:
            raise ValueError(f"{where}: solar_term must be one of {', '.join(SolarTerm.NAMES)}")
        return StatutoryHoliday(name, anchor, term=value, offset=offset, days=days)
    month, day = _month_day(value, anchor, where)
    return StatutoryHoliday(name, anchor, month=month, day=day, offset=offset, days=days)


def _month_day(value, anchor: str, where: str) -> tuple[int, int]:
    # A lunar month has 29 or 30 days, so day 30 would not exist in some years: 除夕 is
    # written as the day before 正月初一 (offset = -1) instead.
    rule = ("a Gregorian month-day like \"10-01\" (not 02-29)" if anchor == "date"
            else "a lunar month-day like \"08-15\", day 1 to 29")
    try:
        month, day = (int(part) for part in str(value).split("-"))
        if anchor == "date":
            date(2001, month, day)
        elif not (1 <= month <= 12 and 1 <= day <= 29):
            raise ValueError
    except ValueError:
        raise ValueError(f"{where}: {anchor} must be {rule}, not {value!r}") from None
    return month, day


def _solar(day) -> date:
    return date(day.get_year(), day.get_month(), day.get_day())
