"""Finding cases: what a user may see, filtered and paged; and the supervision board's figures."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Mapping

from sqlalchemy import and_, case as when, false, func, or_, select
from sqlalchemy.orm import Session, joinedload

from models import Case, Category, Department, OrgUnit, Task, User

from engine.lifecycle.cases import SOURCES
from engine.errors import InputError, Message
from engine.queries.inbox import CATEGORY_CODE, FLAGS, MAX_PAGE, ORG_CODE, STAGE_CODE, read_args
from engine.access.org import DEPT_CODE

STATUSES = ("open", "closed", "cancelled", "duplicate")
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


@dataclass(frozen=True)
class CaseFilter:
    q: str | None = None            # case code, or words of the address or description
    status: str | None = None
    stage: str | None = None
    category: str | None = None
    org: str | None = None
    department: str | None = None
    source: str | None = None
    flag: str | None = None
    created_from: date | None = None
    created_to: date | None = None

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> CaseFilter:
        values: dict = {}
        errors: dict[str, list[str]] = {}
        checks = {
            "q": (lambda v: len(v) <= 100 and "\x00" not in v, Message("At most 100 characters.")),
            "status": (lambda v: v in STATUSES, Message("Must be one of: {choices}.", choices=", ".join(STATUSES))),
            "stage": (lambda v: STAGE_CODE.match(v), Message("Must be a stage code such as accept or handle.")),
            "category": (lambda v: CATEGORY_CODE.match(v), Message("Must be a 大类 code such as E01 or a 小类 code such as E0102.")),
            "org": (lambda v: ORG_CODE.match(v), Message("Must be the code of a district, street, community or grid.")),
            "department": (lambda v: DEPT_CODE.match(v), Message("Must be a department code such as HW.")),
            "source": (lambda v: v in SOURCES, Message("Must be one of: {choices}.", choices=", ".join(SOURCES))),
            "flag": (lambda v: v in FLAGS, Message("Must be one of: {choices}.", choices=", ".join(FLAGS))),
        }
        read_args(args, checks, values, errors)
        for name in ("created_from", "created_to"):
            raw = args.get(name)
            if raw:
                try:
                    values[name] = date.fromisoformat(str(raw))
                except ValueError:
                    errors[name] = [Message("Must be a date like 2026-11-26.")]
                    continue
                if not FIRST_DAY <= values[name] <= LAST_DAY:  # beyond these, time zones overflow
                    errors[name] = [Message("Must be between {first} and {last}.", first=FIRST_DAY, last=LAST_DAY)]
        if errors:
            raise InputError(errors, "The case filter is invalid.")
        return cls(**values)

    def args(self) -> dict[str, str]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v is not None}


@dataclass
class CasePage:
    items: list[Case]
    total: int
    limit: int
    offset: int


def visible_clause(user: User):
    """Cases in the user's org subtrees, or handled by one of their departments."""
    clauses = []
    for m in user.memberships:
        if m.scope_key.startswith("dept:"):
            clauses.append(Case.department_code == m.scope_key[5:])
        else:
            clauses.append(Case.scope_path.startswith(m.scope_key, autoescape=True))
    return or_(*clauses) if clauses else false()


def search_cases(session: Session, rt, user: User, f: CaseFilter | None = None, *, now: datetime,
                 limit: int = 50, offset: int = 0) -> CasePage:
    f = f or CaseFilter()
    limit, offset = min(max(limit, 1), MAX_PAGE), max(offset, 0)
    query = apply_filter(session, rt, select(Case).where(visible_clause(user)), f, now=now)
    total = session.scalar(query.with_only_columns(func.count(Case.id)))
    items = list(session.scalars(query.options(joinedload(Case.category)).order_by(Case.created_at.desc(), Case.id.desc())
                                 .limit(limit).offset(offset)))
    return CasePage(items, total or 0, limit, offset)


def apply_filter(session: Session, rt, query, f: CaseFilter, *, now: datetime):
    """Narrow a query of cases to those the filter admits (the search page's, the map's)."""
    if f.q:
        words = f.q
        query = query.where(or_(Case.code == words.upper(), Case.address.contains(words, autoescape=True),
                                Case.description.contains(words, autoescape=True)))
    if f.status:
        query = query.where(Case.status == f.status)
    if f.stage:
        query = query.where(Case.stage == f.stage)
    if f.category:
        query = query.where(Case.category_id.in_(select(Category.id).where(Category.code.startswith(f.category))))
    if f.org:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.code == f.org))
        if path is None:
            raise InputError({"org": [Message("No org unit has this code.")]}, "The case filter is invalid.")
        query = query.where(Case.scope_path.startswith(path, autoescape=True))
    if f.department:
        query = query.where(Case.department_code == f.department)
    if f.source:
        query = query.where(Case.source == f.source)
    if f.flag == "overdue":
        query = query.where(Case.status == "open", Case.due_at <= now)
    elif f.flag == "at_risk":
        query = query.where(Case.status == "open", Case.due_at > now, Case.at_risk.is_(True))
    tz = rt.calendar.tz
    if f.created_from:
        query = query.where(Case.created_at >= datetime.combine(f.created_from, time(), tz))
    if f.created_to:
        query = query.where(Case.created_at < datetime.combine(f.created_to, time(), tz) + _ONE_DAY)
    return query


_ONE_DAY = timedelta(days=1)


# -- supervision board ---------------------------------------------------------------------------
@dataclass
class BoardRow:
    key: str          # department code or street code
    name: str
    name_en: str
    overdue: int
    at_risk: int


@dataclass
class Board:
    by_department: list[BoardRow]
    by_street: list[BoardRow]
    overdue: int
    at_risk: int
    supervise_tasks: list[Task] = field(default_factory=list)
    incidents: list[Case] = field(default_factory=list)  # stuck: a step failed (gridflow cases retry)


def board_scopes(user: User, board_roles: tuple[str, ...]) -> list[str]:
    """The org units whose cases the user sees on the board (policy.toml [board])."""
    return [m.scope_key for m in user.memberships if m.role in board_roles and not m.scope_key.startswith("dept:")]


def supervision_board(session: Session, user: User, *, now: datetime, board_roles: tuple[str, ...]) -> Board:
    """Open cases overdue or at risk now, counted by department and by street, within the units
    where the user holds one of ``board_roles``."""
    scopes = board_scopes(user, board_roles)
    in_scope = or_(*[Case.scope_path.startswith(s, autoescape=True) for s in scopes]) if scopes else false()
    overdue = when((Case.due_at <= now, 1), else_=0)
    at_risk = when((and_(Case.due_at > now, Case.at_risk.is_(True)), 1), else_=0)
    live = and_(Case.status == "open", in_scope, or_(Case.due_at <= now, Case.at_risk.is_(True)))
    departments = {d.code: d for d in session.scalars(select(Department))}
    by_department = []
    for code, n_over, n_risk in session.execute(
            select(Case.department_code, func.sum(overdue), func.sum(at_risk)).where(live)
            .group_by(Case.department_code)):
        dept = departments.get(code)
        by_department.append(BoardRow(code or "", dept.name if dept else "", dept.name_en if dept else "",
                                      int(n_over or 0), int(n_risk or 0)))
    by_street = _by_street(session, session.execute(
        select(Case.scope_path, func.sum(overdue), func.sum(at_risk)).where(live).group_by(Case.scope_path)).all())
    for rows_ in (by_department, by_street):
        rows_[:] = [r for r in rows_ if r.overdue or r.at_risk]
        rows_.sort(key=lambda r: (-r.overdue, -r.at_risk, r.key))
    supervise = list(session.scalars(
        select(Task).join(Task.case).where(Task.status == "open", Task.stage == "supervise", in_scope)
        .options(joinedload(Task.case).joinedload(Case.category)).order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        .limit(100)))
    incidents = list(session.scalars(select(Case).where(Case.incident.is_not(None), in_scope)
                                     .order_by(Case.updated_at).limit(100)))
    return Board(by_department, by_street, sum(r.overdue for r in by_street), sum(r.at_risk for r in by_street),
                 supervise, incidents)


def _by_street(session: Session, rows) -> list[BoardRow]:
    """Add up per-grid counts by street: the street is the ancestor in a grid's path whose unit is a street
    (codes may have any width, so the path is read unit by unit)."""
    if not rows:
        return []
    streets = {u.path: u for u in session.scalars(select(OrgUnit).where(OrgUnit.level == "street"))}
    totals: dict[str, list[int]] = {}
    for path, n_over, n_risk in rows:
        ancestors = ("/".join(path.split("/")[:i]) + "/" for i in range(1, path.count("/") + 1))
        street = next((prefix for prefix in ancestors if prefix in streets), path)
        total = totals.setdefault(street, [0, 0])
        total[0] += int(n_over or 0)
        total[1] += int(n_risk or 0)
    return [BoardRow(streets[p].code, streets[p].name, streets[p].name_en, o, r) if p in streets
            else BoardRow(p, p, p, o, r) for p, (o, r) in totals.items()]
