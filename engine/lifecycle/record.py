"""Write one step of a case: its new instance state, the READY-task projection and the audit event.

This is the hot path of every user action and timer firing, so it speaks SQL through Core
statements rather than the ORM unit of work (a flush of four rows costs about 1 ms of
bookkeeping here). The case row is written with ``UPDATE … WHERE id = :id AND version =
:seen``; zero rows updated means someone else wrote first, and the caller's transaction
must be rolled back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from models import Case, Task, User

from engine.errors import Conflict, ProcessFailure
from engine.lifecycle.chain import append_events
from engine.lifecycle.effects import Notice, apply_effect
from engine.runtime import Runtime
from engine.spiff import TIMER_FIRED, Effect, Node, ProcessBundle, ProcessError, ReadyTask

_CASES, _TASKS = Case.__table__, Task.__table__

# Statements are built once: building one costs several times more than running it.
# The case UPDATE always sets every column a step may change, so it has one fixed shape.
_STEP_COLUMNS = ("status", "stage", "department_code", "due_times", "due_at", "duplicate_of_id",
                 "state", "next_timer_at", "updated_at", "closed_at", "at_risk", "overdue",
                 "escalation_level", "calendar_estimated", "incident")
_UPDATE_CASE = (update(_CASES)
                .where(_CASES.c.id == bindparam("b_id"), _CASES.c.version == bindparam("b_seen"))
                .values(version=bindparam("b_version"), **{c: bindparam(f"b_{c}") for c in _STEP_COLUMNS}))
_FINISH_TASK = (update(_TASKS).where(_TASKS.c.id == bindparam("b_id"))
                .values(status=bindparam("b_status"), completed_at=bindparam("b_at"),
                        completed_by_id=bindparam("b_by")))
_INSERT_TASK = insert(_TASKS)
# Built once: generating .values(...) per new case cost about 0.4 ms.
_INSERT_CASE = insert(_CASES).returning(_CASES.c.id)
# The kinds of event a step starts with (the ``kind`` record_step is called with): its first event.
STEP_KINDS = ("reported", "task_completed", "message", "timer")


@dataclass(frozen=True)
class RecordedStep:
    """What one step wrote, handed to the runtime's listeners (notifications, webhooks, assessment);
    ``task`` is the task row the step completed, if any (its due time judges lateness)."""

    case: Case
    at: datetime
    events: list[dict]
    notices: list[Notice]
    task: Task | None = None


def record_step(session: Session, rt: Runtime, case: Case, workflow, bundle: ProcessBundle,
                actor: User | None, *, kind: str, data: dict, open_rows: list[Task],
                task: Task | None = None, case_changes: dict[str, Any] | None = None,
                effects: list[Effect] = (), keep_live: bool = True) -> None:
    """Persist the workflow after a step; ``open_rows`` are the case's open task rows before it.

    ``effects`` are the flow elements with an ``effect`` that ran in the step (warning,
    overdue, escalate: set the case's flags, notify, are audited; notify: a notice).
    ``keep_live`` keeps the workflow in the runtime's cache for the case's next step.
    """
    now = rt.clock()
    wf = rt.workflows
    snap = wf.snapshot(workflow, bundle)
    ready = snap.ready
    effects = [e for e in effects if e.kind != TIMER_FIRED]  # which timers fired: the caller's to record
    changes: dict[str, Any] = dict(case_changes or {})
    policy = rt.policy_of(session, case.process_version_id)
    new_rows, gone_ids, due_at, due_times, estimated = _project(rt, policy, case, ready, open_rows, now)
    changes["due_at"] = due_at
    changes["calendar_estimated"] = estimated
    old_due = dict(case.due_times or {})
    if due_times != old_due:
        changes["due_times"] = due_times
    if any(row["due_at"] and not policy.own_clock(row["stage"]) for row in new_rows):
        changes["at_risk"] = False  # a newly timed task starts un-warned; its own timers warn again
    events = [_event(case, now, None, e.kind if e.kind != "escalate" else "escalated", None, None,
                     {k: v for k, v in e.properties.items() if k not in ("effect", "notify", "data", "notice")})
              for e in effects if e.kind != "notify"]
    notices: list[Notice] = []
    for effect in effects:
        notices += apply_effect(session, rt, case, effect, changes, open_rows, now)
    if snap.completed:
        status = str(snap.data.get("outcome") or "closed")
        # A case closed earlier (then waiting for the resident's rating) keeps its closing time.
        closed_at = changes.get("closed_at") or (case.closed_at if case.status == status else None) or now
        changes.update(status=status, stage=status, closed_at=closed_at, due_at=None)
    else:
        changes["stage"] = stage_of([t.node for t in ready], snap.waiting, case.stage)
    # The main task's data says who handles the case; a side task (督办) holds a copy from when it
    # opened, which may predate a dispatch or re-dispatch.
    main = [t for t in ready if t.node.properties.get("affectsStage", "true").lower() != "false"]
    handler_scope = (main[0].data if main else snap.data).get("handler_scope")
    if isinstance(handler_scope, str):  # a re-dispatch to a grid or street clears the department
        changes["department_code"] = handler_scope[5:] if handler_scope.startswith("dept:") else None
    changes.update(state=wf.dump_state(workflow), next_timer_at=wf.next_timer_at(workflow), updated_at=now)

    from_stage = case.stage if case.id is not None else None
    conn = session.connection()  # Core writes skip the ORM's execute machinery
    if case.id is None:
        _insert_case(session, case, changes)
    else:
        row = {f"b_{c}": changes[c] if c in changes else getattr(case, c) for c in _STEP_COLUMNS}
        result = conn.execute(_UPDATE_CASE, {**row, "b_id": case.id, "b_seen": case.version,
                                                "b_version": case.version + 1})
        if result.rowcount != 1:
            raise Conflict(f"case {case.code} was changed by someone else; reload and try again")
        for key, value in {**changes, "version": case.version + 1}.items():
            set_committed_value(case, key, value)
    finished = [{"b_id": row_id, "b_status": "cancelled", "b_at": now, "b_by": None} for row_id in gone_ids]
    if task is not None:
        by = actor.id if actor else None
        finished.append({"b_id": task.id, "b_status": "completed", "b_at": now, "b_by": by})
        for key, value in {"status": "completed", "completed_at": now, "completed_by_id": by}.items():
            set_committed_value(task, key, value)
    if finished:
        conn.execute(_FINISH_TASK, finished)
    if new_rows:
        conn.execute(_INSERT_TASK, [{**row, "case_id": case.id} for row in new_rows])
    reason = task.name if task else kind
    for sla, new in due_times.items():
        if sla in old_due and old_due[sla] != new:
            events.append(_event(case, now, actor, "due_changed", None, None,
                                 {"sla": sla, "old": old_due[sla], "new": new, "reason": reason}))
    events.insert(0, _event(case, now, actor, kind, task, from_stage, data))
    for event in events:
        event["case_id"], event["to_stage"] = case.id, case.stage
    events = append_events(session, case.id, events)
    rt.publish(session, RecordedStep(case=case, at=now, events=events, notices=notices, task=task))
    if keep_live:
        rt.keep_workflow(case.id, case.state, workflow)


def stage_of(ready: list[Node], waiting: list[Node], current: str) -> str:
    """The stage a running case is in: its first READY task's or message wait's that names one."""
    stages = [n.properties.get("stage") for n in ready if n.properties.get("affectsStage", "true").lower() != "false"]
    stages += [n.properties.get("stage") for n in waiting]
    return next((s for s in stages if s), current)


def _event(case: Case, now, actor: User | None, kind: str, task: Task | None, from_stage, data: dict) -> dict:
    return {"case_id": case.id, "at": now, "actor_id": actor.id if actor else None, "kind": kind,
            "task_bpmn_id": task.bpmn_id if task else None, "task_name": task.name if task else None,
            "from_stage": from_stage if from_stage is not None else case.stage, "to_stage": case.stage,
            "data": data}


def _insert_case(session: Session, case: Case, changes: dict[str, Any]) -> None:
    """INSERT a new case with Core and attach the object to the session as persistent."""
    for key, value in changes.items():
        setattr(case, key, value)
    values = {}
    for col in _CASES.columns:
        if col.key == "id":
            continue
        value = getattr(case, col.key)
        if value is None and col.default is not None and col.default.is_scalar:
            value = col.default.arg  # the ORM would apply it at flush; Core needs it spelled out
        setattr(case, col.key, value)  # every column is loaded: reading one later costs no query
        values[col.key] = value
    values["version"] = 1
    case.id = session.execute(_INSERT_CASE, values).scalar_one()
    case.version = 1
    make_transient_to_detached(case)
    session.add(case)


def _project(rt: Runtime, policy, case: Case, ready: list[ReadyTask], open_rows: list[Task], now: datetime):
    """Return new task rows, ids of rows no longer ready, the case's due time, its SLA due
    times, and whether an open task's due time was computed without holiday data.

    A task whose stage keeps its own clock (stages.toml ``own_clock``, a 督办 reply) has its due
    time on its row only: it never becomes the case's due time, so it cannot make the case late."""
    role_for_lane = policy.role_for_lane
    existing = {t.spiff_id: t for t in open_rows if t.status == "open"}
    ready_ids = {t.spiff_id for t in ready}
    gone = [row.id for sid, row in existing.items() if sid not in ready_ids]
    dues = [row.due_at for sid, row in existing.items()
            if sid in ready_ids and row.due_at and not policy.own_clock(row.stage)]
    estimated = any(row.due_estimated for sid, row in existing.items() if sid in ready_ids)
    due_times = dict(case.due_times or {})
    rows = []
    for item in ready:
        if item.spiff_id in existing:
            continue
        node, props = item.node, item.node.properties
        # ``roleFrom`` names a variable that picks the role for this visit (a self-handled
        # report is verified by the community's staff rather than the grid's worker).
        role = role_for_lane(item.data.get(props["roleFrom"]) if props.get("roleFrom") else node.lane)
        not_by = item.data.get(props["notBy"]) if props.get("notBy") else None
        scope_var = props.get("scope")
        scope = item.data.get(scope_var) if scope_var else None
        if role is None or not isinstance(scope, str) or not scope:
            raise ProcessFailure(f"task {node.bpmn_id}: cannot tell who takes it "
                                 f"(lane {node.lane!r}, scope variable {scope_var!r} = {scope!r})")
        due_at, row_estimated = None, False
        if props.get("due"):
            try:
                due_at = datetime.fromisoformat(str(rt.workflows.evaluate(props["due"], item.data)))
            except (ProcessError, ValueError) as exc:
                raise ProcessFailure(f"task {node.bpmn_id}: due expression failed: {exc}") from None
            if not policy.own_clock(props.get("stage")):
                dues.append(due_at)
            row_estimated = bool(rt.calendar.missing_years(now, due_at)) and not item.data.get("emergency")
            estimated = estimated or row_estimated
            if props.get("sla"):
                due_times[props["sla"]] = due_at.isoformat()
        # ``keep``: case variables copied onto the row, for lists that never load the workflow
        # (the supervision board, the case page's 督办).
        kept = {name: item.data[name] for name in _names(props.get("keep"))
                if name in item.data and (item.data[name] is None or isinstance(item.data[name], (str, int, float, bool)))}
        rows.append({"spiff_id": item.spiff_id, "bpmn_id": node.bpmn_id, "name": node.name, "facts": kept or None,
                     "stage": props.get("stage", ""), "role": role, "scope_key": scope,
                     "form_key": node.form_key, "status": "open", "created_at": now, "due_at": due_at,
                     "due_estimated": row_estimated, "not_by": not_by if isinstance(not_by, str) and not_by else None})
    return rows, gone, (min(dues) if dues else None), due_times, estimated


def _names(listed: str | None) -> list[str]:
    return [name.strip() for name in (listed or "").split(",") if name.strip()]
