"""Assessment periods: a month, quarter, year or from/to dates, in the calendar's time zone."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Mapping

from engine.errors import InputError, Message

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 11, 30)


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``last`` inclusive."""

    first: date
    last: date

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The period as [start, end) instants: local midnights in ``tz``."""
        return (datetime.combine(self.first, time(), tz),
                datetime.combine(self.last + timedelta(days=1), time(), tz))

    def previous(self) -> Period:
        """The period of the same shape just before: the month, quarter or year before, else as many days."""
        if self.first.day == 1 and (self.last + timedelta(days=1)).day == 1:
            months = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
            start = _add_months(self.first, -months)
            return Period(start, self.first - timedelta(days=1))
        days = (self.last - self.first).days + 1
        return Period(self.first - timedelta(days=days), self.first - timedelta(days=1))

    def months(self) -> list[Period]:
        """The calendar months the period touches, each clipped to the period."""
        out, start = [], self.first
        while start <= self.last:
            next_month = _add_months(start.replace(day=1), 1)
            out.append(Period(start, min(self.last, next_month - timedelta(days=1))))
            start = next_month
        return out

    @property
    def label(self) -> str:
        return f"{self.first.isoformat()}/{self.last.isoformat()}"

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = date(year, month, 1)
        return cls(start, _add_months(start, 1) - timedelta(days=1))

    @classmethod
    def parse(cls, args: Mapping[str, str], today: date) -> Period:
        """Read ``from``/``to`` dates, or ``month`` (2026-11), ``quarter`` (2026Q4) or ``year``
        (2026); with none of them, this month. A bad value is an InputError naming the field."""
        errors: dict[str, list] = {}
        given = [k for k in ("month", "quarter", "year") if args.get(k)]
        if len(given) > 1 or (given and (args.get("from") or args.get("to"))):
            raise InputError({given[-1]: [Message("Give one of from/to, month, quarter or year.")]},
                             "The period is invalid.")
        try:
            if args.get("month"):
                m = _MONTH.match(args["month"])
                if not m or not 1 <= int(m.group(2)) <= 12:
                    raise ValueError("month")
                return cls.month(int(m.group(1)), int(m.group(2)))._checked()
            if args.get("quarter"):
                m = _QUARTER.match(args["quarter"])
                if not m:
                    raise ValueError("quarter")
                start = date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1)
                return cls(start, _add_months(start, 3) - timedelta(days=1))._checked()
            if args.get("year"):
                m = _YEAR.match(args["year"])
                if not m:
                    raise ValueError("year")
                return cls(date(int(m.group(1)), 1, 1), date(int(m.group(1)), 12, 31))._checked()
        except ValueError as exc:
            field = str(exc) if str(exc) in ("month", "quarter", "year") else given[0]
            hint = {"month": "2026-11", "quarter": "2026Q4", "year": "2026"}[field]
            raise InputError({field: [Message("Must look like {example}.", example=hint)]}, "The period is invalid.") from None
        if not args.get("from") and not args.get("to"):
            return cls.month(today.year, today.month)
        values = {}
        for name in ("from", "to"):
            raw = args.get(name)
            if not raw:
                errors[name] = [Message("Required with {other}.", other="to" if name == "from" else "from")]
                continue
            try:
                values[name] = date.fromisoformat(str(raw))
            except ValueError:
                errors[name] = [Message("Must be a date like 2026-11-26.")]
                continue
            if not FIRST_DAY <= values[name] <= LAST_DAY:
                errors[name] = [Message("Must be between {first} and {last}.", first=FIRST_DAY, last=LAST_DAY)]
        if not errors and values["to"] < values["from"]:
            errors["to"] = [Message("Must not be before from.")]
        if errors:
            raise InputError(errors, "The period is invalid.")
        return cls(values["from"], values["to"])

    def _checked(self) -> Period:
        if not FIRST_DAY <= self.first <= self.last <= LAST_DAY:
            raise ValueError("year")
        return self


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
