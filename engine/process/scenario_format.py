"""The scenario file format (processes/scenarios/*.toml): its keys, what a file reads into, and
the durations and wall times designers write. engine/process/scenarios.py checks the files;
processes/README.md describes them."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

SCENARIO_FOLDER = "scenarios"
_FILE_NAME = re.compile(r"^scenarios/[A-Za-z0-9_][A-Za-z0-9_.-]*\.toml$")
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")

FILE_KEYS = ("process", "start", "report", "scenario")
SCENARIO_KEYS = ("name", "title", "start", "report", "other", "step")
REPORT_FIELDS = ("category_code", "grid_code", "source", "urgency", "self_handled", "address", "description",
                 "lat", "lng", "coord_system", "reporter_name", "reporter_phone")
REPORT_KEYS = REPORT_FIELDS + ("by", "role", "expect")
ACTIONS = ("task", "reporter", "wait", "until", "past")
STEP_KEYS = ACTIONS + ("by", "role", "answer", "case", "refused", "expect")
# What the reporter's link lets a resident send (engine/public/tracking.py), by the message the
# case waits for: the fields of each.
REPORTER_FORMS = {"supplement": ("text",), "rating": ("satisfaction", "comment")}
EXPECT_KEYS = ("open", "stage", "status", "department", "due", "escalation_level", "overdue", "at_risk",
               "events", "notices", "path", "not_path")
# The events a step writes besides its own record (reported, task_completed, message, timer).
EVENT_KINDS = ("warning", "overdue", "escalated", "closed", "reopened", "due_changed")
NOTICE_KINDS = ("warning", "overdue", "escalated", "notice")
STATUSES = ("open",)  # and every stage code the engine sets itself (closed, cancelled, duplicate)

_DURATION = re.compile(r"^\s*(\+)?\s*(\d+(?:\.\d+)?)\s*(working\s+hours?|working\s+days?|hours?|minutes?|days?)\s*$")


@dataclass(frozen=True)
class Duration:
    """An amount of time as designers write it: ``4 working hours``, ``2 working days``, ``90 minutes``."""

    amount: float
    unit: str          # "hours", "days" or "minutes"
    working: bool      # on the business calendar (working hours of working days), else the plain clock

    def __str__(self) -> str:
        amount = f"{self.amount:g}"
        return f"{amount} {'working ' if self.working else ''}{self.unit}"


def parse_duration(text: Any) -> Duration | None:
    """Read ``[+]<number> <unit>``; None when it is not one."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    unit = match.group(3).split()[-1].rstrip("s") + "s"
    return Duration(float(match.group(2)), unit, match.group(3).startswith("working"))


@dataclass(frozen=True)
class Expect:
    """What must hold after a step (only the keys given are checked)."""

    values: dict[str, Any]

    def __bool__(self) -> bool:
        return bool(self.values)


@dataclass(frozen=True)
class Step:
    number: int          # 1-based, as failures name it; 0 is the report
    action: str          # task, reporter, wait, until or past
    target: Any          # the task id, the reporter's message, a Duration, a time text, a due's name
    by: str | None = None
    role: str | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    case: str | None = None        # another case of the scenario (``other``); None: the scenario's own
    refused: str | bool | None = None
    expect: Expect = Expect({})

    @property
    def label(self) -> str:
        return self.label_as(None)

    def label_as(self, username: str | None) -> str:
        """How failures name the step: ``sign_for as handler_hw``, ``wait 2 working hours``."""
        who = username or self.by
        who = f" as {who}" if who else f" as a {self.role}" if self.role else ""
        what = {"task": f"{self.target}{who}", "reporter": f"the reporter's {self.target}",
                "wait": f"wait {self.target}", "until": f"until {self.target}", "past": f"just past the {self.target} due time"}
        return what[self.action] + (f", case {self.case}" if self.case else "")


@dataclass(frozen=True)
class Report:
    fields: dict[str, Any]
    by: str | None
    role: str | None
    expect: Expect


@dataclass(frozen=True)
class Scenario:
    file: str
    name: str
    title: str
    process: str
    start: str              # local time text (the calendar's zone unless it says another)
    report: Report
    others: dict[str, Report]
    steps: tuple[Step, ...]

    @property
    def id(self) -> str:
        """``<file stem>/<name>``: unique across the scenario files."""
        return f"{self.file.rsplit('/', 1)[-1].removesuffix('.toml')}/{self.name}"


def is_scenario_file(name: str) -> bool:
    return bool(_FILE_NAME.match(name))


def scenario_files(files: dict[str, str]) -> dict[str, str]:
    return {name: text for name, text in files.items() if is_scenario_file(name)}


@dataclass(frozen=True)
class Diagram:
    """The ids a process's diagram has, and its sequence flows (id → (source, target))."""

    ids: frozenset[str]
    flows: dict[str, tuple[str, str]]


_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def diagram_elements(files: dict[str, str]) -> dict[str, Diagram]:
    """Each process of the .bpmn files (by id) with its element ids and sequence flows, in file order.

    The parsed spec keeps no sequence-flow ids, so they are read from the XML."""
    found: dict[str, Diagram] = {}
    for name in sorted(files):
        if not name.endswith(".bpmn"):
            continue
        try:
            root = etree.fromstring(files[name].encode("utf-8"))
        except etree.XMLSyntaxError:
            continue  # the parser reports it
        for process in root.iter(f"{_BPMN}process"):
            ids = frozenset(el.get("id") for el in process.iter() if isinstance(el.tag, str) and el.get("id"))
            flows = {f.get("id"): (f.get("sourceRef"), f.get("targetRef")) for f in process.iter(f"{_BPMN}sequenceFlow")}
            found[process.get("id")] = Diagram(ids, flows)
    return found


def parse_local(text: Any) -> datetime | None:
    """A wall time as designers write it (``2026-11-25T10:00``, a zone optional); None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None
