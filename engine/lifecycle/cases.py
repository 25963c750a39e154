"""Case lifecycle: intake, completing tasks, messages; persistence, task projection and audit.

Every function takes a Session and leaves the commit to the caller (one transaction per
user action). Instance state is written with ``UPDATE … WHERE version = :seen``; a lost
race surfaces as :class:`Conflict` and nothing of the action is kept.

A little over 400 lines: intake's checks (one pass that reports every problem at once) sit
beside the step they guard; the record, tasks, satisfaction and migration have their own modules.
"""
from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload, undefer

from models import Case, CaseCodeCounter, CaseEvent, Category, Department, OrgUnit, Task, User

from engine.city.coords import COORD_SYSTEMS
from engine.city.places import place_point, wgs84_point
from engine.errors import Conflict, Forbidden, InputError, Message, NotFound, PreconditionFailed, ProcessFailure, StepFailed
from engine.process.forms import required_if, validate_submission
from engine.access.links import issue_tracking_secret
from engine.access.org import may_see_case, may_take
from engine.process.deploy import latest_version
from engine.lifecycle.incidents import pending_retry, record_incident
from engine.process.policy import SOURCES, Policy
from engine.lifecycle import satisfaction
from engine.lifecycle.record import record_step
from engine.runtime import Runtime
from engine.spiff import NotWaiting, ProcessError

# Built once; building a statement costs more than running it on the hot path.
_TASK_AND_SIBLINGS = select(Task).where(or_(
    Task.id == bindparam("task_id"),
    and_(Task.case_id == select(Task.case_id).where(Task.id == bindparam("task_id")).scalar_subquery(),
         Task.status == "open")))
_NEXT_SEQUENCE = (update(CaseCodeCounter).where(CaseCodeCounter.day == bindparam("b_day"))
                  .values(last=CaseCodeCounter.last + 1).returning(CaseCodeCounter.last))
_CATEGORY_BY_CODE = select(Category).where(Category.code == bindparam("code"))
_GRID_BY_CODE = select(OrgUnit).where(OrgUnit.code == bindparam("code"), OrgUnit.level == "grid",
                                      OrgUnit.active.is_(True))
_UNITS_BY_CODES = select(OrgUnit).where(OrgUnit.code.in_(bindparam("codes", expanding=True)))

_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
URGENCIES = ("normal", "urgent")


def reporter_roles(policy: Policy) -> tuple[str, ...]:
    """Every role that may record a report from some channel (policy.toml [report.channels])."""
    return tuple(dict.fromkeys(role for roles in policy.channels.values() for role in roles))


def report_case(session: Session, rt: Runtime, actor: User | None, report: dict[str, Any],
                form_errors: dict[str, list] | None = None) -> Case:
    """File a new case from any channel and start its process; return the case.

    ``form_errors`` are what the caller's own form checks found: they come back in the same
    InputError as the engine's, so the person sees every problem on their first submit.
    """
    errors: dict[str, list] = {k: list(v) for k, v in (form_errors or {}).items()}
    category = session.scalars(_CATEGORY_BY_CODE, {"code": report.get("category_code")}).first()
    if category is None or not category.active:
        errors["category_code"] = [Message("Unknown category code.")]
    grid_code, lat, lng, refusal = _placed(session, report, errors)
    grid, ancestors = _grid_with_ancestors(session, grid_code)
    if grid_code is not None and (grid is None or not grid.active):
        errors.setdefault("grid_code", [Message("Unknown grid code.")])
    elif grid is None and not errors.keys() & {"lat", "lng", "coord_system"}:
        errors["grid_code"] = [Message("Give a grid code, or a point (lat and lng) to place the case in its grid.")]
    source = report.get("source", "patrol")
    if source not in SOURCES:
        errors["source"] = [Message("Must be one of: {choices}.", choices=", ".join(SOURCES))]
    urgency = report.get("urgency", "normal")
    if urgency not in URGENCIES:
        errors["urgency"] = [Message("Must be one of: {choices}.", choices=", ".join(URGENCIES))]
    policy = rt.policy
    self_handled = bool(report.get("self_handled"))
    if self_handled and source not in policy.self_handling_channels:
        errors["self_handled"] = [Message("Only a report from {channels} can be self-handled.",
                                          channels=", ".join(policy.self_handling_channels))]
    if not (report.get("address") or (lat is not None and lng is not None)) \
            and not {"lat", "lng"} & set(errors):
        errors.setdefault("address", []).append(Message("Give an address or coordinates (lat and lng)."))
    phone = phone_problem(rt.settings, report.get("reporter_phone"))
    if phone:
        errors.setdefault("reporter_phone", []).append(phone)
    outside = grid is not None and actor is not None and \
        not any(may_take(actor, role, grid.path) for role in reporter_roles(policy))
    if outside and errors:  # said with the other errors; alone it is a refusal (403) below
        errors["grid_code"] = [Message("you may not report cases in this grid")]
    elif grid is not None and not outside and "source" not in errors:
        channel = _channel_problem(policy, actor, grid, source)
        if channel:
            errors["source"] = [channel]
    if errors:
        raise refusal(errors)
    _check_reporter(policy, actor, grid, source, self_handled)

    key = rt.settings["CASE_PROCESS"]
    version = latest_version(session, key)
    if version is None:
        raise ProcessFailure(f"process {key!r} is not deployed; run `gridflow processes deploy`")
    bundle = rt.bundle(session, version.id)
    now = rt.clock()
    code = _next_case_code(session, rt, now)
    data = case_data(rt, code, category, ancestors | {"grid": grid}, source, urgency, self_handled,
                     reported_by=actor.username if actor else "")
    try:
        workflow = rt.workflows.start(bundle, data)
    except ProcessError as exc:
        raise ProcessFailure(f"the process failed to start: {exc}") from None
    case = Case(
        code=code, category_id=category.id, grid_id=grid.id, scope_path=grid.path,
        address=report.get("address") or "", lat=lat, lng=lng,
        description=report.get("description") or "", source=source, urgency=urgency,
        reporter_name=report.get("reporter_name") or "", reporter_phone=report.get("reporter_phone") or "",
        self_handled=self_handled, reported_by_id=actor.id if actor else None,
        process_version_id=version.id, created_at=now, updated_at=now, due_times={}, state=b"",
        stage=rt.policy_of(session, version.id).new_case_stage,
    )
    record_step(session, rt, case, workflow, bundle, actor, kind="reported", open_rows=[],
                data={k: report.get(k) for k in ("category_code", "grid_code", "source", "urgency", "self_handled")})
    # A resident gets a secret link to follow the case, add information and rate the result;
    # the secret exists only here (its hash is stored), so the channel must hand it on.
    case.tracking_secret = issue_tracking_secret(session, rt, case) if data["resident_report"] else None
    return case


def _placed(session: Session, report: dict[str, Any], errors: dict) -> tuple[Any, float | None, float | None, type]:
    """The grid code and the WGS-84 point of a report, and the error to raise: a point places the
    case in the grid that covers it, and a grid code sent with it must name that grid."""
    given = report.get("grid_code") or None
    if report.get("lat") is None and report.get("lng") is None:
        if report.get("coord_system") not in (None, "", *COORD_SYSTEMS):
            errors["coord_system"] = [Message("Must be one of: {choices}.", choices=", ".join(COORD_SYSTEMS))]
        return given, None, None, InputError
    try:
        lat, lng = wgs84_point(report.get("lat"), report.get("lng"), report.get("coord_system"))
        placed = place_point(session, lat, lng)
    except InputError as exc:
        errors.update(exc.errors)
        return given, None, None, type(exc)
    if given is not None and given != placed:
        errors["grid_code"] = [Message("The point lies in grid {placed}, not in grid {given}.",
                                       placed=placed, given=given)]
    return given or placed, lat, lng, InputError


def _check_reporter(policy: Policy, actor: User | None, grid: OrgUnit, source: str, self_handled: bool) -> None:
    """Apply policy.toml [report]: who may record a report from this channel and self-handle it."""
    holds = lambda roles: actor is not None and any(may_take(actor, role, grid.path) for role in roles)
    if actor is not None and not holds(reporter_roles(policy)):
        raise Forbidden(Message("you may not report cases in this grid"))
    if self_handled and not holds(policy.self_handling_roles):
        raise Forbidden(Message("only a holder of {roles} over the grid can report a self-handled case",
                                roles=", ".join(policy.self_handling_roles)))


def _channel_problem(policy: Policy, actor: User | None, grid: OrgUnit, source: str) -> Message | None:
    """What is wrong with ``actor`` recording a report from channel ``source`` (policy.toml
    [report.channels]), or None."""
    allowed = policy.channels.get(source, ())
    if actor is None or any(may_take(actor, role, grid.path) for role in allowed):
        return None
    return Message("Reports from channel {choice} are recorded by: {who}.", choice=source,
                   who=", ".join(allowed) or "nobody with an account", field="source")


def phone_problem(settings, phone: Any) -> Message | None:
    """What is wrong with a reporter's phone number (REPORTER_PHONE_PATTERNS), or None; empty is fine."""
    if phone in (None, ""):
        return None
    number = re.sub(r"\s+", "", str(phone))
    if any(pattern.fullmatch(number) for pattern in _phone_patterns(tuple(settings["REPORTER_PHONE_PATTERNS"]))):
        return None
    return Message("Not a phone number: give a mainland mobile number or a landline with its area code, "
                   "e.g. {examples}.", examples=settings.get("REPORTER_PHONE_EXAMPLES", ""))


@functools.lru_cache(maxsize=8)
def _phone_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p) for p in patterns)


def case_data(rt: Runtime, code: str, category: Category, units: dict[str, OrgUnit], source: str,
              urgency: str, self_handled: bool = False, reported_by: str = "") -> dict[str, Any]:
    """The data a new case's process starts with (processes/README.md lists it)."""
    grid, community, street, district = units["grid"], units["community"], units["street"], units["district"]
    return {
        "case_code": code, "category_code": category.code, "major_code": category.major_code,
        "emergency": category.emergency, "urgency": urgency, "source": source,
        "resident_report": source in rt.settings["RESIDENT_SOURCES"], "self_handled": self_handled,
        "reported_by": reported_by,
        "grid_code": grid.code, "community_code": community.code, "street_code": street.code,
        "district_code": district.code, "grid_scope": grid.path, "community_scope": community.path,
        "street_scope": street.path, "district_scope": district.path, "area_type": street.area_type,
        "default_department": category.default_department or "",
        "warn_fraction": float(rt.settings.get("WARNING_FRACTION", 0.8)),
        "escalation_hours": float(rt.settings.get("ESCALATION_HOURS", 2)),
    }


def complete_task(session: Session, rt: Runtime, actor: User, task_id: int, payload: Any,
                  expected_version: int | None = None, expected_task_version: int | None = None) -> Case:
    """Validate ``payload`` against the task's form, complete the task and advance the case.

    ``expected_version`` (the case's) and ``expected_task_version`` are what the caller last saw;
    a difference raises PreconditionFailed before anything is checked or written.
    """
    rows = list(session.scalars(_TASK_AND_SIBLINGS, {"task_id": task_id})) if 0 < task_id < 2 ** 63 else []
    task = next((row for row in rows if row.id == task_id), None)
    # The case is usually in the session already (a web request reloads it by primary key). It is
    # held here: the session's identity map keeps objects only while something refers to them, and
    # ``task.case`` would load it again. Its workflow state, category and grid (which the answer
    # shows) come in the same query.
    case = session.get(Case, task.case_id, options=[undefer(Case.state), joinedload(Case.category),
                                                    joinedload(Case.grid)]) if task is not None else None
    if task is None or not may_see_case(actor, case.scope_path, [task.scope_key]):
        raise NotFound(f"task {task_id} does not exist")
    if expected_version is not None and case.version != expected_version:
        raise PreconditionFailed(Message("case {code} changed (version {version}, you saw {seen})",
                                         code=case.code, version=case.version, seen=expected_version))
    if expected_task_version is not None and task.version != expected_task_version:
        raise PreconditionFailed(Message("task {task} changed (version {version}, you saw {seen})",
                                         task=task_id, version=task.version, seen=expected_task_version))
    if task.status != "open":
        if task.completed_by:
            raise Conflict(Message("task {task} was already completed by {who}", task=task_id, who=task.completed_by.name))
        raise Conflict(Message("task {task} was already completed by someone else", task=task_id))
    if not may_take(actor, task.role, task.scope_key):
        raise Forbidden(Message("task {task} is for role {role} in another scope", task=task_id, role=task.role))
    if task.assignee_id is not None and task.assignee_id != actor.id:
        raise Conflict(Message("task {task} is held by {who}; it must be released or reassigned first",
                               task=task_id, who=task.assignee.name))
    if task.not_by and task.not_by == actor.username:
        raise Forbidden(Message("task {task} must be done by someone other than {who} (separation of duties)",
                                task=task_id, who=actor.name))
    bundle = rt.bundle(session, case.process_version_id)
    node = bundle.node(task.bpmn_id)
    try:
        data, errors = validate_submission(node.fields, payload), {}
    except ValidationError as exc:
        data, errors = (exc.valid_data if isinstance(exc.valid_data, dict) else {}), _flatten(exc.messages)
    duplicate_of_id = _check_references(session, actor, case, node, data, errors)
    if errors:
        raise InputError(errors)
    changes: dict[str, Any] = {"duplicate_of_id": duplicate_of_id} if duplicate_of_id else {}
    if case.incident and pending_retry(session, case).get("task_id") == task.id:
        changes["incident"] = None  # the completion that failed went through this time
    retry = {"task_id": task.id, "actor_id": actor.id, "payload": _plain(payload)}
    workflow = rt.load_workflow(session, case)
    audit = {k: v for k, v in data.items() if v is not None}
    audit.update(_overrides(node, _task_data(rt, workflow, bundle, task.spiff_id), data))
    merged = dict(data)
    if node.properties.get("actor"):  # the designer asked to remember who did this step
        merged[node.properties["actor"]] = actor.name
    try:
        effects = rt.workflows.complete(workflow, task.spiff_id, merged)
        record_step(session, rt, case, workflow, bundle, actor, kind="task_completed", data=audit, task=task,
                    open_rows=[row for row in rows if row.status == "open" and row.id != task.id],
                    case_changes=changes or None, effects=effects)
        # A form with a satisfaction field (the phone callback) is a rating of this closing.
        satisfaction.record(session, case, task.bpmn_id, data, rt.clock(), comment_field=None)
    except ProcessError as exc:
        if "not waiting for input" in str(exc):
            raise Conflict(f"task {task_id} is no longer open") from None
        _step_failed(session, rt, case, f"completing {task.bpmn_id}", str(exc), exc.element or task.bpmn_id, retry)
    except ProcessFailure as exc:
        _step_failed(session, rt, case, f"completing {task.bpmn_id}", exc.message, task.bpmn_id, retry)
    return case


def deliver_message(session: Session, rt: Runtime, case: Case, name: str, payload: dict[str, Any],
                    actor: User | None = None) -> Case:
    """Deliver message ``name`` (e.g. a reporter's supplement) to the case's waiting process."""
    bundle = rt.bundle(session, case.process_version_id)
    pending = pending_retry(session, case) if case.incident else {}
    changes = {"incident": None} if pending.get("message") == name else None  # the failed delivery went through
    retry = {"message": name, "payload": _plain(payload), "actor_id": actor.id if actor else None}
    workflow = rt.load_workflow(session, case)
    try:
        effects = rt.workflows.send_message(workflow, name, payload)
        record_step(session, rt, case, workflow, bundle, actor, kind="message", case_changes=changes,
                    data={"message": name, **payload}, open_rows=open_tasks(session, case), effects=effects)
    except NotWaiting:
        waiting = {n.name for n in rt.workflows.waiting_nodes(workflow, bundle)}  # only to say so
        raise Conflict(f"case {case.code} is not waiting for {name!r}"
                       + (f" (it waits for: {', '.join(sorted(waiting))})" if waiting else "")) from None
    except ProcessError as exc:
        _step_failed(session, rt, case, f"delivering message {name!r}", str(exc), exc.element, retry)
    except ProcessFailure as exc:
        _step_failed(session, rt, case, f"delivering message {name!r}", exc.message, None, retry)
    return case


def _step_failed(session: Session, rt: Runtime, case: Case, what: str, error: str, element: str | None,
                 retry: dict[str, Any]) -> None:
    """Undo the failed step, keep an incident on the case, and raise StepFailed.

    The one place the engine commits: the incident must outlive the caller's rollback of
    the failed action. A task stays open; ``gridflow cases retry`` runs the same step again
    (after the process was fixed and the case migrated onto the fix).
    """
    case_id, code = case.id, case.code
    message = f"{what} failed" + (f" at {element}" if element else "") + f": {error}"
    session.rollback()  # the live workflow the step mutated is not cached: load_workflow took it out
    record_incident(session, rt, case_id, message, retry={"element": element, **retry})
    session.commit()
    raise StepFailed(message, element=element, case_code=code)


def _plain(payload: Any) -> Any:
    """The submission as stored with an incident, to be submitted again by a retry."""
    return {k: payload[k] for k in payload} if hasattr(payload, "keys") else payload


def get_case(session: Session, user: User, code: str) -> Case:
    """Return the case if the user may see it; otherwise NotFound, so codes do not leak."""
    case = session.scalars(select(Case).where(Case.code == code)).first() if _CODE.match(code) else None
    if case is None:
        raise NotFound(f"case {code} does not exist")
    if not may_see_case(user, case.scope_path, holding_scopes(session, case)):
        raise NotFound(f"case {code} does not exist")
    return case


def holding_scopes(session: Session, case: Case) -> list[str]:
    """The scopes that hold the case now besides its place: its open tasks' and its department's.
    A unit that returned the case or lost it by re-dispatch is no longer among them."""
    scopes = list(session.scalars(select(Task.scope_key).where(Task.case_id == case.id, Task.status == "open")))
    if case.department_code:
        scopes.append(f"dept:{case.department_code}")
    return scopes


def timeline(session: Session, case: Case) -> list[CaseEvent]:
    """The case's events in order, with who did each (one more query for all of them; their
    memberships, which a timeline never shows, load only if something asks for them)."""
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                .options(selectinload(CaseEvent.actor).lazyload(User.memberships))
                                .order_by(CaseEvent.at, CaseEvent.id)))


def open_tasks(session: Session, case: Case) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")
                                .order_by(Task.id)))


# -- internals -------------------------------------------------------------------------------
def _grid_with_ancestors(session: Session, code) -> tuple[OrgUnit | None, dict[str, OrgUnit]]:
    """Return the grid of that code and its community, street and district, in one query."""
    if not isinstance(code, str) or not code:
        return None, {}
    grid = session.scalars(_GRID_BY_CODE, {"code": code}).first()
    if grid is None:
        return None, {}
    units = session.scalars(_UNITS_BY_CODES, {"codes": [c for c in grid.path.split("/") if c]}).all()
    by_level = {u.level: u for u in units}
    if not {"community", "street", "district"} <= set(by_level):
        return None, {}
    return grid, by_level


def _check_references(session: Session, actor: User, case: Case, node, data: dict,
                      errors: dict[str, list[str]]) -> int | None:
    """Check fields that name other records (a department, the original of a duplicate);
    add their errors to ``errors`` and return the original case's id when one applies."""
    for f in node.fields:
        value = data.get(f.id)
        if value and "department" in dict(f.constraints) and f.id not in errors:
            if session.scalar(select(Department.id).where(Department.code == value,
                                                          Department.active.is_(True))) is None:
                errors[f.id] = [Message("No department has this code.")]
    field = node.properties.get("duplicateOf")
    spec = next((f for f in node.fields if f.id == field), None)
    if not field or not data.get(field) or field in errors:
        return None
    condition = dict(spec.constraints).get("required_if") if spec else None
    if condition:
        other, expected = required_if(condition, field)
        if str(data.get(other)) != expected:
            return None  # the field does not apply to this decision
    original = session.scalars(select(Case).where(Case.code == data[field])).first() \
        if _CODE.match(str(data[field])) else None
    if original is None or original.id == case.id or not may_see_case(actor, original.scope_path):
        errors[field] = [Message("No other case you can see has this code.")]
        return None
    return original.id


def _next_case_code(session: Session, rt: Runtime, now: datetime) -> str:
    day = now.astimezone(rt.calendar.tz).date()
    for _ in range(3):
        seq = session.execute(_NEXT_SEQUENCE, {"b_day": day}).scalar()
        if seq is not None:
            break
        try:
            with session.begin_nested():
                session.add(CaseCodeCounter(day=day, last=1))
            seq = 1
            break
        except IntegrityError:
            continue  # another transaction created today's counter first
    else:
        raise Conflict("could not allocate a case code; try again")
    return f"{rt.settings['CASE_CODE_PREFIX']}{day:%Y%m%d}{seq:05d}"


def _task_data(rt: Runtime, workflow, bundle, spiff_id: str) -> dict[str, Any]:
    return next((t.data for t in rt.workflows.ready_tasks(workflow, bundle) if t.spiff_id == spiff_id), {})


def _overrides(node, before: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Audit a choice that differs from the recommendation a field was prefilled with: a field with
    an ``override`` property records ``<override>: true`` and the recommended value beside the chosen."""
    out: dict[str, Any] = {}
    for f in node.fields:
        props = dict(f.properties)
        source, key = props.get("prefill"), props.get("override")
        recommended = before.get(source) if source else None
        if key and recommended not in (None, "") and data.get(f.id) not in (None, "") \
                and data.get(f.id) != recommended:
            out[key] = True
            out[source] = recommended
    return out


def _flatten(messages) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        return {str(k): (v if isinstance(v, list) else [str(v)]) for k, v in messages.items()}
    return {"_schema": list(messages)}
