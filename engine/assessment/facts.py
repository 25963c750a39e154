"""Keep each case's assessment facts up to date in the transaction of every step.

:class:`FactWriter` is a runtime listener: the step writer hands it each RecordedStep, and it
turns the step's events and completed task into assessment_fact rows as processes/assessment.toml
says (one row per case and fact, a row per late task), and adds each change to the monthly tallies,
so that figures never read the event log.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from models import AssessmentFact, Category, ProcessVersion, User

from engine.assessment.tally import Deltas
from engine.process.assessment import Definitions, Matcher, definitions_of
from engine.runtime import Runtime

_FACTS = AssessmentFact.__table__
_INSERT = insert(_FACTS)
# One row per kind is enough: only ``late`` repeats, and it is never replaced or settled.
_EXISTING = select(*[c for c in _FACTS.c if c.key != "id"]).where(_FACTS.c.case_id == bindparam("case_id"))
_DELETE = delete(_FACTS).where(_FACTS.c.case_id == bindparam("b_case"), _FACTS.c.kind == bindparam("b_kind"))
_CHANGE_DUE = (update(_FACTS).where(_FACTS.c.case_id == bindparam("b_case"), _FACTS.c.kind == "due_to_close")
               .values(at=bindparam("b_at"), department=bindparam("b_department"), value=bindparam("b_value")))


def place_of(scope_path: str) -> tuple[str | None, str | None, str | None]:
    """Street, community and grid codes of a grid's scope path (``…/street/community/grid/``)."""
    parts = [p for p in scope_path.split("/") if p]
    pick = lambda i: parts[-i] if len(parts) >= i else None  # noqa: E731
    return pick(3), pick(2), pick(1)


class FactWriter:
    """Write the facts of each recorded step (a runtime listener)."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self._definitions: dict[int, Definitions] = {}
        self._categories: dict[int, str] = {}

    def definitions(self, session: Session, process_version_id: int) -> Definitions:
        """The definitions deployed with a version, else the processes folder's."""
        found = self._definitions.get(process_version_id)
        if found is None:
            version = session.get(ProcessVersion, process_version_id)
            found = definitions_of((version.source_files or {}) if version else {}, self.rt.settings["PROCESSES_DIR"])
            self._definitions[process_version_id] = found
        return found

    def __call__(self, session: Session, step: Any) -> None:
        case = step.case
        defs = self.definitions(session, case.process_version_id)
        first_step = any(e["kind"] == "reported" for e in step.events)
        existing = {} if first_step else {r["kind"]: dict(r) for r in
                                          session.execute(_EXISTING, {"case_id": case.id}).mappings()}
        base = self._base(session, case)
        rows: list[dict] = []
        replaced: list[str] = []
        task = step.task
        on_time = None
        # A stage with its own clock (a 督办 reply, stages.toml own_clock) is timed for itself: its
        # deadline never makes the case, or whoever holds the stage, late in the assessment.
        if task is not None and task.due_at is not None \
                and not self.rt.policy_of(session, case.process_version_id).own_clock(task.stage):
            on_time = task.completed_at is None or task.completed_at <= task.due_at
        for event in step.events:
            data = event.get("data") or {}
            if event["kind"] == "task_completed":
                matches = defs.matchers_for_task(event.get("task_bpmn_id") or "")
            else:
                matches = defs.matchers_for_event(event["kind"])
            for name, matcher in matches:
                if not matcher.matches(data):
                    continue
                if name in existing or name in (r["kind"] for r in rows):
                    if matcher.keep == "first":
                        continue
                    if name in existing:
                        replaced.append(name)
                    rows = [r for r in rows if r["kind"] != name]
                value = self._value(defs, matcher, data, on_time)
                rows.append(dict(base, kind=name, at=step.at, person=self._person(session, case, matcher, event),
                                 value=value, detail=_detail(matcher, data),
                                 task_bpmn_id=event.get("task_bpmn_id")))
            if event["kind"] == "reported" and case.source in defs.resident_sources:
                rows.append(dict(base, kind="resident_reported", at=step.at, person=None, value=None, detail=None,
                                 task_bpmn_id=None))
        if task is not None and on_time is False:
            rows.append(self._late(session, defs, case, base, task, step))
        conn = session.connection()
        deltas = Deltas(self.rt.calendar.tz)
        for name in dict.fromkeys(replaced):
            conn.execute(_DELETE, {"b_case": case.id, "b_kind": name})
            deltas.remove(existing.pop(name))
        self._due_to_close(conn, defs, case, base, rows, existing, deltas, step)
        if rows:
            conn.execute(_INSERT, rows)
            for row in rows:
                deltas.add(row)
        deltas.apply(conn)

    @staticmethod
    def _due_to_close(conn, defs: Definitions, case, base: dict, rows: list[dict], existing: dict,
                      deltas: Deltas, step) -> None:
        """Keep the case's due-to-close fact at its current deadline; settle it when the case closes
        (on time when its last handling met the deadline), unsettle it when the case reopens."""
        due_raw = (case.due_times or {}).get(defs.due_sla)
        if not due_raw:
            return
        due = datetime.fromisoformat(due_raw)
        if any(r["kind"] == defs.settled_by for r in rows):
            met = next((r["value"] for r in rows if r["kind"] == defs.on_time_by), None)
            if met is None and defs.on_time_by in existing:
                met = existing[defs.on_time_by]["value"]
            settled = 1.0 if met else 0.0
        elif any(e["kind"] == "reopened" for e in step.events):
            settled = 0.0
        else:
            settled = None
        old = existing.get("due_to_close")
        if old is None:
            rows.append(dict(base, kind="due_to_close", at=due, person=None, value=settled or 0.0, detail=None,
                             task_bpmn_id=None))
            return
        new = dict(old, at=due, department=case.department_code, value=old["value"] if settled is None else settled)
        if (new["at"], new["department"], new["value"]) != (old["at"], old["department"], old["value"]):
            conn.execute(_CHANGE_DUE, {"b_case": case.id, "b_at": due, "b_department": new["department"],
                                       "b_value": new["value"]})
            deltas.remove(old)
            deltas.add(new)

    def _base(self, session: Session, case) -> dict:
        code = self._categories.get(case.category_id)
        if code is None:
            code = self._categories[case.category_id] = session.get(Category, case.category_id).code
        street, community, grid = place_of(case.scope_path)
        return {"case_id": case.id, "scope_path": case.scope_path, "street": street, "community": community,
                "grid": grid, "department": case.department_code, "category": code, "major": code[:3],
                "source": case.source, "owner": None}

    @staticmethod
    def _person(session: Session, case, matcher: Matcher, event: dict) -> str | None:
        user_id = case.reported_by_id if matcher.person == "reporter" else event.get("actor_id")
        user = session.get(User, user_id) if user_id else None
        return user.username if user else None

    @staticmethod
    def _value(defs: Definitions, matcher: Matcher, data: dict, on_time: bool | None) -> float | None:
        """The fact's value as its matcher's ``value`` says (engine.process.assessment.VALUES)."""
        return _VALUES[matcher.value](defs, matcher, data, on_time)

    def _late(self, session: Session, defs: Definitions, case, base: dict, task, step) -> dict:
        """A late completion, attributed to whoever held the task by its stage's owner."""
        policy = self.rt.policy_of(session, case.process_version_id)
        stage = policy.stages.get(task.stage)
        owner = stage.owner if stage else "none"
        unit, against_department = defs.lateness.get(owner, ("none", False))
        row = dict(base, kind="late", at=step.at, owner=owner, task_bpmn_id=task.bpmn_id, detail=task.stage,
                   value=round(self.rt.calendar.working_hours_between(task.due_at, task.completed_at or step.at), 2))
        if not against_department:
            row["department"] = None
        elif task.scope_key.startswith("dept:"):
            row["department"] = task.scope_key[5:]
        if unit in ("street", "none"):
            row["community"] = row["grid"] = None
        if unit == "none":
            row["street"] = None
        elif unit == "community":
            row["grid"] = None
        holder = session.get(User, task.completed_by_id) if task.completed_by_id else None
        row["person"] = holder.username if holder else None
        return row


_VALUES = {
    "on_time": lambda defs, matcher, data, on_time: 0.0 if on_time is False else 1.0,
    "one": lambda defs, matcher, data, on_time: 1.0,
    "weight": lambda defs, matcher, data, on_time: defs.satisfaction.get(str(data.get(matcher.detail))),
}


def _detail(matcher: Matcher, data: dict) -> str | None:
    if not matcher.detail or data.get(matcher.detail) in (None, ""):
        return None
    return str(data[matcher.detail])[:64]
