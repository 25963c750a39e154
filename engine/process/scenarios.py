"""Designers' scenario files (processes/scenarios/*.toml): read and check them against the process.

A scenario is a case's report, then steps in order (a task's answer and who gives it, the
reporter's supplement or rating, time moved on) with what is expected after each. This module
only reads the files and refuses what cannot run, naming the file, the key and the rule; the
format is engine/process/scenario_format.py, the run itself (a throwaway database, the real
engine) engine/scenarios. processes/README.md describes the format.
"""
from __future__ import annotations

import tomllib
from typing import Any

from engine.process.policy import SOURCES, Policy
from engine.process.scenario_format import (ACTIONS, EVENT_KINDS, EXPECT_KEYS, FILE_KEYS, NAME, NOTICE_KINDS,
                                           REPORT_FIELDS, REPORT_KEYS, REPORTER_FORMS, SCENARIO_FOLDER,
                                           SCENARIO_KEYS, STATUSES, STEP_KEYS, Diagram, Duration, Expect, Report,
                                           Scenario, Step, diagram_elements, is_scenario_file, parse_duration,
                                           parse_local, scenario_files)
from engine.spiff import ProcessBundle

__all__ = ["SCENARIO_FOLDER", "Diagram", "Duration", "Expect", "Report", "Scenario", "Step", "diagram_elements",
           "is_scenario_file", "parse_duration", "parse_local", "read_scenarios", "scenario_files"]


class _Problems:
    def __init__(self):
        self.items: list[str] = []

    def add(self, where: str, text: str) -> None:
        self.items.append(f"{where}: {text}")


def read_scenarios(files: dict[str, str], bundles: dict[str, ProcessBundle], policy: Policy,
                   default_process: str | None) -> tuple[list[Scenario], list[str]]:
    """Every scenario of the scenario files, and every problem found in them (file: key: rule).

    A file with a problem contributes no scenario, so what runs is what was checked."""
    scenarios: list[Scenario] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    diagrams = diagram_elements(files)
    for name in sorted(scenario_files(files)):
        found = _Problems()
        read = _read_file(name, files[name], bundles, diagrams, policy, default_process, found)
        for scenario in read:
            if scenario.id in seen:
                found.add(f"{name}: scenario {scenario.name!r}", "name: used twice; names must be unique in a file")
            seen[scenario.id] = name
        problems += found.items
        if not found.items:
            scenarios += read
    return scenarios, problems


def _read_file(name: str, text: str, bundles, diagrams: dict[str, Diagram], policy: Policy, default_process,
               problems: _Problems) -> list[Scenario]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add(name, f"not valid TOML: {exc}")
        return []
    _unknown(problems, name, doc, FILE_KEYS)
    process = doc.get("process", default_process if default_process in bundles else next(iter(bundles), None))
    bundle = bundles.get(process) if isinstance(process, str) else None
    if bundle is None:
        problems.add(name, f"process: {process!r} is not a process of the diagrams ({', '.join(sorted(bundles))})")
        return []
    start = doc.get("start")
    _check_start(problems, name, "start", start)
    defaults = doc.get("report", {})
    if not isinstance(defaults, dict):
        problems.add(name, "report: must be a table (the report every scenario of the file starts from)")
        defaults = {}
    items = doc.get("scenario")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        problems.add(name, "scenario: give one or more [[scenario]] tables")
        return []
    checker = _Checker(name, bundle, diagrams.get(process, Diagram(frozenset(), {})), policy, problems)
    return [s for n, item in enumerate(items, 1) if (s := checker.scenario(n, item, start, defaults)) is not None]


class _Checker:
    """Check one file's scenarios against the process they run on."""

    def __init__(self, file: str, bundle: ProcessBundle, diagram: Diagram, policy: Policy, problems: _Problems):
        self.file, self.bundle, self.policy, self.problems = file, bundle, policy, problems
        nodes = list(bundle.nodes())
        self.user_tasks = {n.bpmn_id: n for n in nodes if n.kind == "userTask"}
        self.messages = {n.message for n in nodes if n.message}
        self.slas = {n.properties["sla"] for n in nodes if n.properties.get("sla")}
        self.timed_tasks = {n.bpmn_id for n in self.user_tasks.values() if n.properties.get("due")}
        self.ids = diagram.ids

    def scenario(self, number: int, item: dict, file_start, defaults: dict) -> Scenario | None:
        name = item.get("name")
        where = f"{self.file}: scenario {name!r}" if isinstance(name, str) else f"{self.file}: scenario[{number}]"
        before = len(self.problems.items)
        _unknown(self.problems, where, item, SCENARIO_KEYS)
        if not isinstance(name, str) or not NAME.match(name):
            self.problems.add(where, "name: give a name of letters, digits, '_', '.' or '-'")
        title = item.get("title", "")
        if not isinstance(title, str):
            self.problems.add(where, "title: must be text")
        _check_start(self.problems, where, "start", item.get("start"))
        if item.get("start", file_start) is None:
            self.problems.add(where, "start: give the local time the scenario starts at (here or for the whole file)")
        report_item = item.get("report", {})
        if not isinstance(report_item, dict):
            self.problems.add(where, "report: must be a table")
            report_item = {}
        report = self.report(f"{where}: report", {**defaults, **report_item})
        others = {}
        other_items = item.get("other", {})
        if not isinstance(other_items, dict):
            self.problems.add(where, "other: must be a table of named reports ([scenario.other.NAME])")
            other_items = {}
        for other, data in other_items.items():
            if not isinstance(data, dict) or not NAME.match(other):
                self.problems.add(f"{where}: other.{other}", "must be a table (a report) with a plain name")
                continue
            others[other] = self.report(f"{where}: other.{other}", {**defaults, **data})
        steps = item.get("step", [])
        if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
            self.problems.add(where, "step: give the steps as [[scenario.step]] tables")
            steps = []
        parsed = tuple(self.step(where, n, s, others) for n, s in enumerate(steps, 1))
        if len(self.problems.items) > before:
            return None
        return Scenario(self.file, name, title, self.bundle.key, item.get("start", file_start), report, others, parsed)

    def report(self, where: str, data: dict) -> Report:
        _unknown(self.problems, where, data, REPORT_KEYS)
        for key in ("category_code", "grid_code"):
            if not isinstance(data.get(key), str) or not data.get(key):
                self.problems.add(where, f"{key}: required (a code of the city)")
        if data.get("source", "patrol") not in SOURCES:
            self.problems.add(where, f"source: {data.get('source')!r} is not one of {', '.join(SOURCES)}")
        self.actor(where, data)
        return Report({k: v for k, v in data.items() if k in REPORT_FIELDS}, data.get("by"), data.get("role"),
                      self.expect(f"{where}: expect", data.get("expect", {})))

    def actor(self, where: str, data: dict) -> None:
        if "by" in data and "role" in data:
            self.problems.add(where, "by, role: give a username (by) or a role, not both")
        if "by" in data and (not isinstance(data["by"], str) or not data["by"]):
            self.problems.add(where, "by: must be a username of the city")
        if "role" in data and data["role"] not in self.policy.roles:
            self.problems.add(where, f"role: {data['role']!r} is not a role of policy.toml roles.codes "
                                     f"({', '.join(self.policy.roles)})")

    def step(self, where: str, number: int, item: dict, others: dict) -> Step:
        where = f"{where}: step {number}"
        _unknown(self.problems, where, item, STEP_KEYS)
        actions = [a for a in ACTIONS if a in item]
        if len(actions) != 1:
            self.problems.add(where, f"give exactly one of {', '.join(ACTIONS)}"
                              + (f" (found {', '.join(actions)})" if actions else ""))
            return Step(number, "wait", Duration(0, "minutes", False))
        action = actions[0]
        target = item[action]
        case = item.get("case")
        if case is not None and case not in others:
            self.problems.add(where, f"case: {case!r} is not one of the scenario's other cases "
                                     f"({', '.join(others) or 'it has none'})")
        answer = item.get("answer", {})
        if not isinstance(answer, dict):
            self.problems.add(where, "answer: must be a table of form fields")
            answer = {}
        if action != "task" and ("by" in item or "role" in item):
            self.problems.add(where, "by, role: only a task step is done by someone")
        if action not in ("task", "reporter") and (answer or "refused" in item):
            self.problems.add(where, f"answer, refused: a {action} step has no answer")
        if action == "task":
            self.actor(where, item)
            node = self.user_tasks.get(target) if isinstance(target, str) else None
            if node is None:
                self.problems.add(where, f"task: {target!r} is not a user task of {self.bundle.key} "
                                         f"({', '.join(sorted(self.user_tasks))})")
            else:
                self.answer(where, node, answer, others)
        elif action == "reporter":
            if target not in REPORTER_FORMS:
                self.problems.add(where, f"reporter: {target!r} is not one of {', '.join(REPORTER_FORMS)}")
            elif target not in self.messages:
                self.problems.add(where, f"reporter: nothing in {self.bundle.key} waits for message {target!r}")
            else:
                for key in answer:
                    if key not in REPORTER_FORMS[target]:
                        self.problems.add(where, f"answer.{key}: the reporter's {target} has no field {key!r} "
                                                 f"({', '.join(REPORTER_FORMS[target])})")
        elif action == "wait":
            target = parse_duration(target)
            if target is None or str(item["wait"]).strip().startswith("+"):
                self.problems.add(where, f"wait: {item['wait']!r} is not a duration such as '4 working hours', "
                                         "'2 working days', '90 minutes' or '3 days'")
                target = Duration(0, "minutes", False)
        elif action == "until":
            _check_start(self.problems, where, "until", target)
        elif action == "past" and target not in self.slas | self.timed_tasks:
            self.problems.add(where, f"past: {target!r} names no due time: give a stage clock (an sla: "
                                     f"{', '.join(sorted(self.slas))}) or a task with a due "
                                     f"({', '.join(sorted(self.timed_tasks))})")
        refused = item.get("refused")
        if refused is not None and not isinstance(refused, (str, bool)):
            self.problems.add(where, "refused: true, or a text the refusal must contain")
        return Step(number, action, target, item.get("by"), item.get("role"), answer, case, refused,
                    self.expect(f"{where}: expect", item.get("expect", {})))

    def answer(self, where: str, node, answer: dict, others: dict) -> None:
        fields = {f.id: f for f in node.fields}
        for key, value in answer.items():
            spec = fields.get(key)
            if spec is None:
                self.problems.add(where, f"answer.{key}: the form of task {node.bpmn_id} has no field {key!r} "
                                         f"({', '.join(fields) or 'it has no form'})")
                continue
            if isinstance(value, dict):
                if set(value) != {"case"} or value["case"] not in others:
                    self.problems.add(where, f"answer.{key}: a table here must be {{ case = \"NAME\" }}, naming one "
                                             f"of the scenario's other cases ({', '.join(others) or 'it has none'})")
                continue
            kind = spec.type
            if kind == "enum" and spec.options and value not in {o for o, _ in spec.options}:
                self.problems.add(where, f"answer.{key}: {value!r} is not a choice of the field "
                                         f"({', '.join(o for o, _ in spec.options)})")
            elif kind == "long" and (not isinstance(value, int) or isinstance(value, bool)):
                self.problems.add(where, f"answer.{key}: must be a whole number")
            elif kind == "boolean" and not isinstance(value, bool):
                self.problems.add(where, f"answer.{key}: must be true or false")
            elif kind in ("string", "date", "enum") and not isinstance(value, str):
                self.problems.add(where, f"answer.{key}: must be text")

    def expect(self, where: str, data: Any) -> Expect:
        if not isinstance(data, dict):
            self.problems.add(where, "must be a table")
            return Expect({})
        _unknown(self.problems, where, data, EXPECT_KEYS)
        add = self.problems.add
        for key in ("open", "events", "path", "not_path"):
            if key in data and (not isinstance(data[key], list) or not all(isinstance(v, str) for v in data[key])):
                add(where, f"{key}: must be a list of names")
        for task in data.get("open", []) if isinstance(data.get("open"), list) else []:
            if task not in self.user_tasks:
                add(where, f"open: {task!r} is not a user task of {self.bundle.key}")
        for key in ("path", "not_path"):
            for element in data.get(key, []) if isinstance(data.get(key), list) else []:
                if element not in self.ids:
                    add(where, f"{key}: {element!r} is not an element or sequence flow of {self.bundle.key}")
        if "stage" in data and data["stage"] not in self.policy.stages:
            add(where, f"stage: {data['stage']!r} is not in the stage vocabulary (stages.toml)")
        if "status" in data and data["status"] not in STATUSES + tuple(
                c for c, s in self.policy.stages.items() if s.set_by_engine):
            add(where, f"status: {data['status']!r} is not a status (open, or a stage the engine sets: "
                       + ", ".join(c for c, s in self.policy.stages.items() if s.set_by_engine) + ")")
        if "department" in data and not isinstance(data["department"], str):
            add(where, "department: must be a department code, or \"\" for none")
        if "escalation_level" in data and (not isinstance(data["escalation_level"], int)
                                           or isinstance(data["escalation_level"], bool)):
            add(where, "escalation_level: must be a whole number (0 none, then the ranks of policy.toml)")
        for key in ("overdue", "at_risk"):
            if key in data and not isinstance(data[key], bool):
                add(where, f"{key}: must be true or false")
        for kind in data.get("events", []) if isinstance(data.get("events"), list) else []:
            if kind not in EVENT_KINDS:
                add(where, f"events: {kind!r} is not one of {', '.join(EVENT_KINDS)}")
        notices = data.get("notices", {})
        if not isinstance(notices, dict):
            add(where, "notices: must be a table of notice kind = [usernames]")
        else:
            for kind, users in notices.items():
                if kind not in NOTICE_KINDS:
                    add(where, f"notices.{kind}: not one of {', '.join(NOTICE_KINDS)}")
                if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
                    add(where, f"notices.{kind}: must be a list of usernames")
        due = data.get("due", {})
        if not isinstance(due, dict):
            add(where, "due: must be a table of stage clock = due time")
        else:
            for sla, value in due.items():
                if sla not in self.slas:
                    add(where, f"due.{sla}: not a stage clock of {self.bundle.key} ({', '.join(sorted(self.slas))})")
                if not _due_value(value):
                    add(where, f"due.{sla}: {value!r} is neither an offset from the step ('+4 working hours', "
                               "'+30 minutes') nor a local time ('2026-11-25T15:30')")
        return Expect(dict(data))


def _due_value(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if value.strip().startswith("+"):
        return parse_duration(value) is not None
    return parse_local(value) is not None


def _check_start(problems: _Problems, where: str, key: str, value: Any) -> None:
    if value is not None and parse_local(value) is None:
        problems.add(where, f"{key}: {value!r} is not a local time such as '2026-11-25T10:00'")


def _unknown(problems: _Problems, where: str, data: dict, known: tuple[str, ...]) -> None:
    for key in data:
        if key not in known:
            problems.add(where, f"{key}: unknown key (known: {', '.join(known)})")
