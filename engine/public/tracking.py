"""Public case tracking: what anyone may see of a case, and what its reporter may do behind the
secret link (add information while acceptance waits for it, rate the closed case once).

The public view carries no personal data: no names, phone numbers, form notes or task names,
only the stage in plain words, when each stage began, and the expected completion.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, CaseEvent, Department, OrgUnit, Rating

from engine.lifecycle import cases as case_service
from engine.errors import Conflict, InputError, NotFound
from engine.access.links import case_for_secret
from engine.runtime import Runtime

SATISFACTION = ("satisfied", "basically", "dissatisfied")
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
    address: str
    lat: float | None
    lng: float | None
    description: str | None       # only when PUBLIC_SHOW_DESCRIPTION (or for the reporter)
    agency: dict[str, str]        # who handles it: the department, else the street's centre
    reported_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    expected_at: datetime | None  # the handling deadline once known, while the case is open
    timeline: list[TimelineEntry] = field(default_factory=list)


@dataclass
class ReporterCase:
    """The public view plus what only the reporter sees and may do."""

    public: PublicCase
    supplement_request: str | None   # what the clerk asked for, while the case waits for it
    can_supplement: bool
    can_rate: bool
    rating: Rating | None


def public_case(session: Session, rt: Runtime, code: str, *, with_description: bool | None = None) -> PublicCase:
    case = session.scalars(select(Case).where(Case.code == code)).first() if _CODE.match(code or "") else None
    if case is None:
        raise NotFound(f"case {code} does not exist")
    return describe(session, rt, case, with_description=with_description)


def describe(session: Session, rt: Runtime, case: Case, *, with_description: bool | None = None,
             with_timeline: bool = True) -> PublicCase:
    """Return the public view of a case."""
    if with_description is None:
        with_description = bool(rt.settings.get("PUBLIC_SHOW_DESCRIPTION"))
    # The expected completion is the due time of the stage stages.toml names (handling, as shipped).
    expected_due = (case.due_times or {}).get(rt.policy.expected_completion)
    expected = datetime.fromisoformat(expected_due) if expected_due and case.status == "open" else None
    return PublicCase(
        code=case.code, status=case.status, stage=case.stage, category_code=case.category.code,
        category={"zh": case.category.name, "en": case.category.name_en or case.category.name},
        major={"zh": case.category.major_name, "en": case.category.major_name_en or case.category.major_name},
        address=case.address, lat=case.lat, lng=case.lng,
        description=case.description if with_description else None,
        agency=agency(session, case), reported_at=case.created_at, updated_at=case.updated_at,
        closed_at=case.closed_at, expected_at=expected,
        timeline=public_timeline(session, case) if with_timeline else [])


def agency(session: Session, case: Case) -> dict[str, str]:
    """The unit responsible in public words: the department, else the street's centre (属地)."""
    if case.department_code:
        dept = session.scalars(select(Department).where(Department.code == case.department_code)).first()
        if dept:
            return {"zh": dept.name, "en": dept.name_en or dept.name}
    codes = [c for c in case.scope_path.split("/") if c]
    street = session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes), OrgUnit.level == "street")).first()
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
            kind = {"supplement": "supplemented", "rating": "rated"}.get(message)
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


def add_supplement(session: Session, rt: Runtime, code: str, secret: str, text: Any) -> ReporterCase:
    """Hand the reporter's added information to the case waiting for it (acceptance resumes)."""
    case = case_for_secret(session, code, secret)
    text = text.strip() if isinstance(text, str) else ""
    if not 2 <= len(text) <= 2000:
        raise InputError({"text": ["Write 2 to 2000 characters."]})
    if case.stage != "supplement":
        raise Conflict(f"case {code} is not waiting for more information")
    case_service.deliver_message(session, rt, case, "supplement", {"text": text})
    return _reporter_view(session, rt, case)


def rate(session: Session, rt: Runtime, code: str, secret: str, satisfaction: Any, comment: Any = "") -> ReporterCase:
    """Record the reporter's rating of the closed case and hand it to the process, which sends a
    dissatisfied rating to the shift leader's review. A closing can be rated once."""
    case = case_for_secret(session, code, secret)
    errors = {}
    if satisfaction not in SATISFACTION:
        errors["satisfaction"] = [f"Must be one of: {', '.join(SATISFACTION)}."]
    comment = comment.strip() if isinstance(comment, str) else ""
    if len(comment) > 500:
        errors["comment"] = ["At most 500 characters."]
    if errors:
        raise InputError(errors)
    if case.stage != "rating":
        raise Conflict(f"case {code} cannot be rated now (it is rated once, after it is closed)")
    case_service.deliver_message(session, rt, case, "rating", {"satisfaction": satisfaction, "comment": comment})
    session.add(Rating(case_id=case.id, satisfaction=satisfaction, comment=comment, created_at=rt.clock()))
    session.flush()
    return _reporter_view(session, rt, case)


def _reporter_view(session: Session, rt: Runtime, case: Case) -> ReporterCase:
    public = describe(session, rt, case, with_description=True)
    waiting = case.stage == "supplement"
    request = None
    if waiting:
        # What the clerk asked for is in the acceptance task's submitted form (the audit event).
        rows = session.scalars(select(CaseEvent.data).where(CaseEvent.case_id == case.id,
                                                            CaseEvent.kind == "task_completed")
                               .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(5)).all()
        request = next((d.get("supplement_request") for d in rows if d and d.get("supplement_request")), None)
    rating = session.scalars(select(Rating).where(Rating.case_id == case.id)
                             .order_by(Rating.created_at.desc(), Rating.id.desc())).first()
    return ReporterCase(public=public, supplement_request=request, can_supplement=waiting,
                        can_rate=case.stage == "rating", rating=rating)

