"""Compare what a scenario expects after a step with what the case shows: one text per mismatch,
in the designer's words ("expected department CG, got HW")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.calendar.working_time import BusinessCalendar
from engine.process.scenarios import Duration, Expect, parse_duration, parse_local


@dataclass(frozen=True)
class Seen:
    """What a step left: the case's fields, its open tasks, and what the step wrote."""

    stage: str
    status: str
    department: str
    due_times: dict[str, str]
    escalation_level: int
    overdue: bool
    at_risk: bool
    open: list[str]
    events: list[str]                    # kinds written by the step besides its own record
    notices: dict[str, set[str]]         # notice kind → who was told in the step
    taken: set[str]                      # elements and sequence flows passed so far


@dataclass(frozen=True)
class Mismatch:
    text: str
    element: str | None = None   # the diagram element it is about, for the modeller to pin


def offset(calendar: BusinessCalendar, start: datetime, duration: Duration) -> datetime:
    """``start`` plus a designer's duration, on the business calendar when it says working."""
    if duration.working:
        return calendar.add(start, **{duration.unit: duration.amount})
    return start + timedelta(**{duration.unit: duration.amount})


def local_time(calendar: BusinessCalendar, text: str, default_zone=None) -> datetime:
    """A designer's wall time: with no zone, the calendar's."""
    moment = parse_local(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=default_zone or calendar.tz)


def compare(expect: Expect, seen: Seen, calendar: BusinessCalendar, now: datetime) -> list[Mismatch]:
    """Every way ``seen`` differs from ``expect``."""
    wanted = expect.values
    out: list[Mismatch] = []
    show = lambda moment: moment.astimezone(calendar.tz).strftime("%Y-%m-%d %H:%M:%S") if moment else "none"
    if "open" in wanted and sorted(wanted["open"]) != sorted(seen.open):
        out.append(Mismatch(f"expected open tasks [{', '.join(sorted(wanted['open']))}], "
                            f"open: [{', '.join(sorted(seen.open))}]"))
    for key, actual in (("stage", seen.stage), ("status", seen.status), ("department", seen.department),
                        ("escalation_level", seen.escalation_level), ("overdue", seen.overdue),
                        ("at_risk", seen.at_risk)):
        if key in wanted and wanted[key] != actual:
            out.append(Mismatch(f"expected {key.replace('_', ' ')} {_word(wanted[key])}, got {_word(actual)}"))
    for sla, text in (wanted.get("due") or {}).items():
        expected = (offset(calendar, now, parse_duration(text)) if text.strip().startswith("+")
                    else local_time(calendar, text))
        actual = datetime.fromisoformat(seen.due_times[sla]) if seen.due_times.get(sla) else None
        if actual is None or abs((actual - expected).total_seconds()) >= 1:
            out.append(Mismatch(f"expected the {sla} due time {show(expected)} ({text}), got {show(actual)}"))
    if "events" in wanted and list(wanted["events"]) != seen.events:
        out.append(Mismatch(f"expected events [{', '.join(wanted['events'])}], written: [{', '.join(seen.events)}]"))
    for kind, users in (wanted.get("notices") or {}).items():
        told = seen.notices.get(kind, set())
        if set(users) != told:
            out.append(Mismatch(f"expected the {kind} notification to go to [{', '.join(sorted(users))}], "
                                f"it went to [{', '.join(sorted(told))}]"))
    for element in wanted.get("path", []):
        if element not in seen.taken:
            out.append(Mismatch(f"expected the path to pass {element}, it did not", element))
    for element in wanted.get("not_path", []):
        if element in seen.taken:
            out.append(Mismatch(f"expected the path not to pass {element}, it did", element))
    return out


def _word(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value not in ("", None) else "none"
