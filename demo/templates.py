"""Templates for `gridflow demo generate`: real cases driven through the engine to every stage.

Each template is one real case, run through ``processes/`` by the engine itself, stopped at
a stage (and, for a timed stage, after 0, 1, 2… of its SLA timers fired). The generator
copies its instance state, task rows and audit events for many generated cases, changing
only values that the process keeps per case (codes, places, category limits, routing, clocks
and the due times of armed timers), so a generated task completes like a real one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
import zlib
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Case, CaseEvent, Category, OrgUnit, Task

from engine.lifecycle import cases as case_service
from engine import clock
from bench.common import MAIN_PATH_ANSWERS, Actors, delete_cases
from engine.process.deploy import latest_version
from engine.runtime import Runtime
from engine.lifecycle.sweep import fire_timers

# Values the process keeps per case, replaced in a template's state for each generated case.
CASE_KEYS = ("case_code", "category_code", "major_code", "emergency", "urgency", "source", "resident_report",
             "grid_code", "community_code", "street_code", "district_code", "grid_scope", "community_scope",
             "street_scope", "district_scope", "area_type", "default_department",
             "accept_hours", "dispatch_hours", "sign_hours", "handle_hours", "handle_days", "callback_hours",
             "verify_hours", "close_hours", "level", "department_code", "handler_scope", "approval_scope",
             "duplicate_of", "handle_remaining", "verify_scope", "recommended_level", "recommended_department")
# The demo process's stage clocks (<stage>_started / <stage>_due, set by its 计时 scripts) and
# the limits they count down, in hours or days of the SLA table.
STAGE_CLOCKS = {"accept": ("accept_hours", None), "dispatch": ("dispatch_hours", None), "sign": ("sign_hours", None),
                "handle": ("handle_hours", "handle_days"), "verify": ("verify_hours", None)}
CLOCK_KEYS = tuple(f"{stage}_{part}" for stage in STAGE_CLOCKS for part in ("started", "due"))
_SENTINEL = re.compile(rb'"@@gf:([a-z_:]+)@@"')

# The template cases' place, category and department; their values are what gets replaced.
TEMPLATE_GRID = "110101001001001"
TEMPLATE_CATEGORY = "E0102"
TEMPLATE_DEPARTMENT = "HW"

ANSWERS = {
    **MAIN_PATH_ANSWERS,
    "dispatch": {"level": "department", "department_code": TEMPLATE_DEPARTMENT, "dispatch_note": "请按时处置"},
    "supplement": {"decision": "supplement", "supplement_request": "请补充现场照片和具体位置"},
    "cancel": {"decision": "cancel", "cancel_reason": "invalid", "accept_note": "经核实信息不实"},
    "duplicate": {"decision": "duplicate", "accept_note": "与已受理案件重复"},
    "park": {"action": "park", "park_reason": "需待雨季结束后施工处置"},
    "extend": {"action": "extend", "extension_hours": 8, "extension_reason": "涉及多个产权单位，需协调"},
}
_TO_HANDLE = ["accept", "dispatch", "sign_for"]
_TO_FEEDBACK = _TO_HANDLE + ["handle"]
# name: (answers in order, resident report?, fire the open task's timers one by one afterwards?)
# A "!" step fires the open task's warning and overdue timers before the next answer.
VARIANTS = {
    "accept": ([], True, True),
    "supplement": (["supplement"], True, False),
    "cancelled": (["cancel"], True, False),
    "duplicate": (["duplicate"], True, False),
    "dispatch": (["accept"], True, True),
    "sign": (["accept", "dispatch"], True, True),
    "handle": (_TO_HANDLE, True, True),
    "parked": (_TO_HANDLE + ["park"], True, False),
    "extension": (_TO_HANDLE + ["extend"], True, False),
    "feedback": (_TO_FEEDBACK, True, False),
    "callback": (_TO_FEEDBACK + ["feedback"], True, False),
    "verify": (_TO_FEEDBACK + ["feedback", "callback"], True, True),
    "verify/patrol": (_TO_FEEDBACK + ["feedback"], False, True),
    "close": (_TO_FEEDBACK + ["feedback", "callback", "verify"], True, False),
    "close/patrol": (_TO_FEEDBACK + ["feedback", "verify"], False, False),
    "closed": (_TO_FEEDBACK + ["feedback", "callback", "verify", "close"], True, False),
    # a patrol report's community then rates the department (a resident's report waits for the resident first)
    "closed/patrol": (_TO_FEEDBACK + ["feedback", "verify", "close", "rate_unit"], False, False),
    "closed_late": (_TO_HANDLE + ["!", "handle", "feedback", "callback", "verify", "close"], True, False),
    "closed_late/patrol": (_TO_HANDLE + ["!", "handle", "feedback", "verify", "close", "rate_unit"], False, False),
}
_TASK_OF_ANSWER = {"supplement": "accept", "cancel": "accept", "duplicate": "accept", "park": "handle",
                   "extend": "handle"}


@dataclass
class Step:
    kind: str             # report | task | fire
    bpmn_id: str | None   # the task completed, or whose timer fired
    fired: int = 0        # for a fire: how many of that task's timers had fired after it


@dataclass
class Template:
    variant: str
    resident: bool
    fired: int                     # timers of the open task that have fired
    steps: list[Step]
    state_parts: list[bytes]       # state JSON split at the per-case values
    state_keys: list[str]          # the value that goes after each part but the last
    row: dict[str, Any]            # the case row's status, stage, flags
    tasks: list[dict[str, Any]]    # every task row, with created_step / finished_step
    events: list[dict[str, Any]]   # every audit event, with its step
    open_task: str | None = None   # bpmn id of the open main task (the one whose clock runs)
    timers: list[str] = field(default_factory=list)  # its timers, in firing order


def build_templates(session: Session, sessions: sessionmaker, rt: Runtime) -> dict[tuple[str, bool, int], Template]:
    """Drive one real case per variant, snapshot each, then delete those cases."""
    templates: dict[tuple[str, bool, int], Template] = {}
    made: list[int] = []
    try:
        original = _report(session, rt, resident=True)
        made.append(original.id)
        for variant, (answers, resident, fire) in VARIANTS.items():
            for template in _drive(session, rt, variant, answers, resident, fire, original.code, made):
                templates[template.variant, template.resident, template.fired] = template
    finally:
        session.rollback()
        delete_cases(sessions, made)
    return templates


def _report(session: Session, rt: Runtime, resident: bool) -> Case:
    grid = session.scalars(select(OrgUnit).where(OrgUnit.code == TEMPLATE_GRID)).one()
    actor = Actors(session).for_task("acceptance_clerk", grid.path)
    case = case_service.report_case(session, rt, actor, {
        "category_code": TEMPLATE_CATEGORY, "grid_code": TEMPLATE_GRID, "address": "模板", "description": "模板",
        "source": "hotline" if resident else "patrol"})
    session.commit()
    return case


def _drive(session, rt, variant, answers, resident, fire, original_code, made) -> list[Template]:
    case = _report(session, rt, resident)
    made.append(case.id)
    actors = Actors(session)
    tracker = _Tracker(session, case)
    tracker.record(Step("report", None))
    fired: dict[str, int] = {}
    out = []
    side = rt.policy.board_stages("supervision")  # the 督办 work beside the case's own
    for name in answers:
        task = next(t for t in case_service.open_tasks(session, case) if t.stage not in side)
        if name == "!":
            for _ in range(2):
                _fire_next(session, rt, case)
                fired[task.bpmn_id] = fired.get(task.bpmn_id, 0) + 1
                tracker.record(Step("fire", task.bpmn_id, fired[task.bpmn_id]))
            continue
        payload = dict(ANSWERS[name])
        if name == "duplicate":
            payload["duplicate_of"] = original_code
        assert task.bpmn_id == _TASK_OF_ANSWER.get(name, name), (variant, task.bpmn_id, name)
        case_service.complete_task(session, rt, actors.for_task(task.role, task.scope_key), task.id, payload)
        session.commit()
        tracker.record(Step("task", task.bpmn_id))
    open_main = [t for t in case_service.open_tasks(session, case) if t.stage not in side]
    main = open_main[0].bpmn_id if open_main else None
    timers = [t for t, _ in rt.workflows.boundary_timers(rt.bundle(session, case.process_version_id)).get(main, [])]
    out.append(tracker.template(variant, resident, 0, main, timers if fire else []))
    if fire:
        for k in range(1, len(timers) + 1):
            _fire_next(session, rt, case)
            tracker.record(Step("fire", main, k))
            out.append(tracker.template(variant, resident, k, main, timers))
    return out


def _fire_next(session: Session, rt: Runtime, case: Case) -> None:
    """Fire the case's earliest armed timer by moving the engine clock just past it."""
    due = case.next_timer_at
    with clock.shifted(due - rt.clock() + timedelta(seconds=1)):
        fire_timers(session, rt, case)
        session.commit()


class _Tracker:
    """Remember which step created or finished each task row and wrote each event."""

    def __init__(self, session: Session, case: Case):
        self.session, self.case = session, case
        self.steps: list[Step] = []
        self.tasks: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []

    def record(self, step: Step) -> None:
        index = len(self.steps)
        self.steps.append(step)
        for row in self.session.execute(select(Task.__table__).where(Task.case_id == self.case.id)).mappings():
            seen = self.tasks.get(row["id"])
            if seen is None:
                seen = self.tasks[row["id"]] = {**row, "created_step": index, "finished_step": None,
                                                "final_status": None}
            if row["status"] != "open" and seen["finished_step"] is None:
                seen.update(finished_step=index, final_status=row["status"])
        done = {e["id"] for e in self.events}
        for row in self.session.execute(select(CaseEvent.__table__).where(CaseEvent.case_id == self.case.id)
                                        .order_by(CaseEvent.id)).mappings():
            if row["id"] not in done:
                self.events.append({**row, "step": index})
        self.session.refresh(self.case)

    def template(self, variant, resident, fired, main, timers) -> Template:
        last = len(self.steps) - 1
        tasks = []
        for t in self.tasks.values():
            finished = t["finished_step"] is not None and t["finished_step"] <= last
            tasks.append({k: t[k] for k in ("spiff_id", "bpmn_id", "name", "stage", "role", "form_key",
                                            "created_step")}
                         | {"finished_step": t["finished_step"] if finished else None,
                            "status": t["final_status"] if finished else "open"})
        c = self.case
        row = {"status": c.status, "stage": c.stage, "at_risk": c.at_risk, "overdue": c.overdue,
               "escalation_level": c.escalation_level, "dispatched": c.department_code is not None}
        parts, keys = split_state(c.state, timers)
        return Template(variant, resident, fired, list(self.steps), parts, keys, row, tasks,
                        [dict(e) for e in self.events], main if c.status == "open" else None, timers)


def split_state(state: bytes, timers: list[str]) -> tuple[list[bytes], list[str]]:
    """Cut a stored state at each per-case value: the pieces and, between them, the value's name."""
    dct = orjson.loads(zlib.decompress(state[2:]))
    _mark(dct, set(CASE_KEYS) | set(CLOCK_KEYS))
    for task in dct["tasks"].values():
        if task["task_spec"] in timers and "event_value" in task.get("internal_data", {}):
            task["internal_data"]["event_value"] = f"@@gf:timer:{task['task_spec']}@@"
    raw = orjson.dumps(dct, option=orjson.OPT_NON_STR_KEYS)
    pieces = _SENTINEL.split(raw)
    return pieces[0::2], [k.decode() for k in pieces[1::2]]


def _mark(node, keys: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "internal_data":
                continue
            if key in keys and not isinstance(value, (dict, list)):
                node[key] = f"@@gf:{key}@@"
            else:
                _mark(value, keys)
    elif isinstance(node, list):
        for item in node:
            _mark(item, keys)


def category_values(session: Session, rt: Runtime, version_id: int) -> dict[tuple[str, str, str], dict]:
    """SLA limits and routing of every category × urgency × area type, from the deployed DMN tables.

    Each is one in-memory start of the process and one filing; nothing is stored.
    """
    bundle = rt.bundle(session, version_id)
    grids = {}
    for grid in session.scalars(select(OrgUnit).where(OrgUnit.level == "grid")):
        _, units = case_service._grid_with_ancestors(session, grid.code)
        grids.setdefault(units["street"].area_type, (grid, units))
    out = {}
    for category in session.scalars(select(Category).where(Category.active.is_(True))):
        for urgency in case_service.URGENCIES:
            for area, (grid, units) in grids.items():
                data = case_service.case_data(rt, "GF0", category, units | {"grid": grid}, "hotline", urgency)
                wf = rt.workflows.start(bundle, data)
                task = rt.workflows.ready_tasks(wf, bundle)[0]
                rt.workflows.complete(wf, task.spiff_id, {"decision": "file"})
                result = rt.workflows.data(wf)
                row = {k: result.get(k) for k in ("accept_hours", "dispatch_hours", "sign_hours", "handle_hours",
                                                  "handle_days", "callback_hours", "verify_hours", "close_hours")}
                # The generated dispatcher follows the routing table's recommendation.
                row.update(level=result.get("recommended_level"), department_code=result.get("recommended_department"))
                out[category.code, urgency, area] = row
    return out


def deployed_version_id(session: Session, rt: Runtime) -> int:
    version = latest_version(session, rt.settings["CASE_PROCESS"])
    if version is None:
        raise LookupError("the case process is not deployed; run `gridflow init --demo`")
    return version.id
