"""Public case tracking: what anyone may see of a case, and what its reporter may do behind the
secret link (add information while acceptance waits for it, rate the closed case once).

The public view carries no personal data: no names, phone numbers, form notes or task names,
only the stage in plain words, when each stage began, and the expected completion. Internal
cases (patrol, video, ...) are not public at all, and the place is only as precise as the
settings allow (engine/public/exposure.py); the reporter sees their own address and words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, CaseEvent, Department, Rating

from engine.lifecycle import attachments, satisfaction
from engine.lifecycle import cases as case_service
from engine.errors import Conflict, InputError, Message, NotFound
from engine.access.links import case_for_secret
from engine.process.forms import Fact, shown_facts
from engine.process.policy import Policy
from engine.public.exposure import Known, ancestor, exposure, is_public, place
from engine.runtime import Runtime

SATISFACTION = satisfaction.LEVELS
# The messages the reporter's link sends (processes/README.md): the diagram decides when the case
# waits for them (its catch events and receive tasks), and what the reporter sees meanwhile
# (their `reporterSees` property).
SUPPLEMENT, RATING = "supplement", "rating"
REPORTER_SEES = "reporterSees"
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# Events the public timeline shows; everything else (warnings, escalations, due changes) is internal.
_PUBLIC_KINDS = {"reported", "task_completed", "message", "timer", "closed", "reopened"}


@dataclass
class TimelineEntry:
    at: datetime
    kind: str    # reported, stage, supplemented, rated, closed, reopened
    stage: str   # the stage code the case entered


@dataclass
class PublicCase:
    code: str
    status: str                   # open, closed, cancelled, duplicate
    stage: str
    category_code: str
    category: dict[str, str]      # {"zh": ..., "en": ...}
    major: dict[str, str]
    address: str                  # the address, or for the public the unit PUBLIC_LOCATION names
    location_code: str            # the grid's code, or that unit's
    lat: float | None             # rounded for the public unless PUBLIC_LOCATION is "address"
    lng: float | None
    description: str | None       # only when PUBLIC_SHOW_DESCRIPTION (or for the reporter)
    agency: dict[str, str]        # who handles it: the department, else the street's centre
    reported_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    expected_at: datetime | None  # the handling deadline once known, while the case is open
    next_due_at: datetime | None  # the earliest open deadline (acceptance, at intake), while open
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass
class ReporterCase:
    """The public view plus what only the reporter sees and may do."""

    public: PublicCase
    supplement_request: str | None   # what the clerk asked for, while the case waits for it
    can_supplement: bool
    can_rate: bool
    rating: Rating | None            # their rating of the current closing, once given
    facts: list[Fact] = field(default_factory=list)  # what the waiting state's reporterSees lists


def public_case(session: Session, rt: Runtime, code: str) -> PublicCase:
    """Return what anyone may see of a case; NotFound for unknown and internal cases alike."""
    case = session.scalars(select(Case).where(Case.code == code)).first() if _CODE.match(code or "") else None
    if case is None or not is_public(case, exposure(rt.settings)):
        raise NotFound(f"case {code} does not exist")
    return describe(session, rt, case)


def describe(session: Session, rt: Runtime, case: Case, *, for_reporter: bool = False,
             with_timeline: bool = True, known: Known | None = None, policy: Policy | None = None) -> PublicCase:
    """Return the public view of a case, or with ``for_reporter`` the one its reporter sees; ``known``
    (exposure.prefetch) and ``policy`` spare a list the queries of each case's units and department
    and the reading of settings and policy for each case."""
    seen = None if for_reporter else (known.seen if known is not None and known.seen else exposure(rt.settings))
    where = place(session, case, seen, known)
    is_open = case.status == "open"
    # The expected completion is the due time of the stage stages.toml names (handling, as shipped).
    expected_due = (case.due_times or {}).get((policy or rt.policy).expected_completion)
    return PublicCase(
        code=case.code, status=case.status, stage=case.stage, category_code=case.category.code,
        category={"zh": case.category.name, "en": case.category.name_en or case.category.name},
        major={"zh": case.category.major_name, "en": case.category.major_name_en or case.category.major_name},
        address=where.text, location_code=where.unit_code, lat=where.lat, lng=where.lng,
        description=case.description if seen is None or seen.description else None,
        agency=agency(session, case, known), reported_at=case.created_at, updated_at=case.updated_at,
        closed_at=case.closed_at,
        expected_at=datetime.fromisoformat(expected_due) if expected_due and is_open else None,
        next_due_at=case.due_at if is_open else None,
        timeline=public_timeline(session, case) if with_timeline else [])


def agency(session: Session, case: Case, known: Known | None = None) -> dict[str, str]:
    """The unit responsible in public words: the department, else the street's centre (属地)."""
    if case.department_code:
        dept = known.departments.get(case.department_code) if known is not None else \
            session.scalars(select(Department).where(Department.code == case.department_code)).first()
        if dept:
            return {"zh": dept.name, "en": dept.name_en or dept.name}
    street = ancestor(session, case, "street", known)
    if street is None:
        return {"zh": "", "en": ""}
    return {"zh": f"{street.name}网格化服务管理中心", "en": f"{street.name_en or street.name} grid centre"}


def public_timeline(session: Session, case: Case) -> list[TimelineEntry]:
    """When the case entered each stage; no actors, task names or form data."""
    entries: list[TimelineEntry] = []
    rows = session.execute(select(CaseEvent.at, CaseEvent.kind, CaseEvent.from_stage, CaseEvent.to_stage,
                                  CaseEvent.data)
                           .where(CaseEvent.case_id == case.id, CaseEvent.kind.in_(_PUBLIC_KINDS))
                           .order_by(CaseEvent.at, CaseEvent.id)).all()
    for at, kind, from_stage, to_stage, data in rows:
        if kind == "message":
            message = (data or {}).get("message")
            kind = {SUPPLEMENT: "supplemented", RATING: "rated"}.get(message)
            if kind is None:
                continue
        elif kind == "task_completed" or kind == "timer":
            if from_stage == to_stage:
                continue
            kind = "stage"
        entries.append(TimelineEntry(at=at, kind=kind, stage=to_stage or ""))
    return entries


def reporter_case(session: Session, rt: Runtime, code: str, secret: str) -> ReporterCase:
    """Return the reporter's view of their case; NotFound unless code and secret match."""
    case = case_for_secret(session, code, secret)
    return _reporter_view(session, rt, case)


def add_supplement(session: Session, rt: Runtime, code: str, secret: str, text: Any,
                   photos: list[tuple[str, bytes]] = ()) -> ReporterCase:
    """Hand the reporter's added information, with any photos, to the case waiting for it
    (acceptance resumes). The photos are kept with the stage the case waited in."""
    case = case_for_secret(session, code, secret)
    text = text.strip() if isinstance(text, str) else ""
    if not 2 <= len(text) <= 2000:
        raise InputError({"text": [Message("Write 2 to 2000 characters.")]})
    if SUPPLEMENT not in _waits(session, rt, case):
        raise Conflict(Message("case {code} is not waiting for more information", code=code))
    stored = [attachments.add_attachment(session, rt, None, case, name, data, field="photos")
              for name, data in photos]
    payload = {"text": text}
    if stored:
        payload["photos"] = ",".join(f"att:{a.id}" for a in stored)
    case_service.deliver_message(session, rt, case, SUPPLEMENT, payload)
    return _reporter_view(session, rt, case)


def rate(session: Session, rt: Runtime, code: str, secret: str, level: Any, comment: Any = "") -> ReporterCase:
    """Record the reporter's rating of the closed case and hand it to the process, which sends a
    dissatisfied rating to the shift leader's review. A closing can be rated once; the rating
    outweighs the clerk's phone callback (engine/lifecycle/satisfaction.py)."""
    case = case_for_secret(session, code, secret)
    errors = {}
    if level not in SATISFACTION:
        errors["satisfaction"] = [Message("Must be one of: {choices}.", choices=", ".join(SATISFACTION))]
    comment = comment.strip() if isinstance(comment, str) else ""
    if len(comment) > 500:
        errors["comment"] = [Message("At most 500 characters.")]
    if errors:
        raise InputError(errors)
    if RATING not in _waits(session, rt, case):
        raise Conflict(Message("case {code} cannot be rated now (it is rated once, after it is closed)", code=code))
    values = {satisfaction.FIELD: level, "comment": comment}
    case_service.deliver_message(session, rt, case, RATING, values)
    satisfaction.record(session, case, satisfaction.RESIDENT, values, rt.clock())
    return _reporter_view(session, rt, case)


def _waits(session: Session, rt: Runtime, case: Case) -> dict[str, dict[str, Any]]:
    """The messages the case's process waits for now, each with the facts its reporterSees lists."""
    if case.status not in ("open", "closed"):
        return {}
    bundle = rt.bundle(session, case.process_version_id)
    workflow = rt.workflows.load_state(bundle, case.state)
    return {node.message: {"show": node.properties.get(REPORTER_SEES), "data": data}
            for node, data in rt.workflows.message_waits(workflow, bundle) if node.message}


def _reporter_view(session: Session, rt: Runtime, case: Case) -> ReporterCase:
    public = describe(session, rt, case, for_reporter=True)
    waits = _waits(session, rt, case)
    request = None
    if SUPPLEMENT in waits:
        # What the clerk asked for is in the acceptance task's submitted form (the audit event).
        rows = session.scalars(select(CaseEvent.data).where(CaseEvent.case_id == case.id,
                                                            CaseEvent.kind == "task_completed")
                               .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(5)).all()
        request = next((d.get("supplement_request") for d in rows if d and d.get("supplement_request")), None)
    facts = [fact for wait in waits.values() for fact in shown_facts(wait["show"], wait["data"])]
    return ReporterCase(public=public, supplement_request=request, can_supplement=SUPPLEMENT in waits,
                        can_rate=RATING in waits, rating=satisfaction.resident_rated(session, case), facts=facts)
