"""The supervision board: open cases overdue or at risk by street, late and at-risk open tasks by
whose work they are (stages.toml owner) and by department, the 督办 in progress (a page at a time),
and cases stuck on a failed step."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case as when, false, func, or_, select
from sqlalchemy.orm import Session, joinedload

from models import Case, Department, OrgUnit, Task, User

from engine.process.policy import Policy
from engine.queries.scope import under
from engine.queries.search import hidden

# The board whose list holds the 督办 (the stages that stages.toml gives `board = "supervision"`).
SUPERVISION = "supervision"
# The case variables a 督办 task keeps on its row (its ``keep`` property; processes/README.md):
# which stage was late when the order was opened, and the department the order names.
LATE_STAGE, ADDRESSEE = "supervision_late_stage", "supervision_unit"
PAGE_SIZE, MAX_PAGE_SIZE = 20, 100


@dataclass
class BoardRow:
    key: str          # department code or street code
    name: str
    name_en: str
    overdue: int
    at_risk: int


@dataclass(frozen=True)
class SupervisionRow:
    """One 督办 in progress: its open task (to issue, to reply, to review) and what the board shows."""

    task: Task
    department: Department | None   # the order's addressee (None: the street centre); unissued: the case's
    street: OrgUnit | None
    late_stage: str | None          # stage code
    overdue_hours: float | None     # working hours the case's work is late now (None: on time now)
    reply_late: bool                # the open task's own clock has run out
    to_street_centre: bool = False  # the order names no department: the street centre replies


@dataclass
class SupervisionPage:
    """A page of the 督办 list, oldest first (ordered by the task's opening time, then id: offset paging
    over a stable order)."""

    rows: list[SupervisionRow]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.limit, 0) if self.offset > 0 else None


@dataclass
class Board:
    by_department: list[BoardRow]
    by_street: list[BoardRow]
    overdue: int
    at_risk: int
    supervision: SupervisionPage = field(default_factory=lambda: SupervisionPage([], 0, PAGE_SIZE, 0))
    incidents: list[Case] = field(default_factory=list)  # stuck: a step failed (gridflow cases retry)
    # Late and at-risk open tasks by whose work they are (stages.toml owner: centre, department, community).
    by_owner: list[BoardRow] = field(default_factory=list)


def board_scopes(user: User, board_roles: tuple[str, ...]) -> list[str]:
    """The org units whose cases the user sees on the board (policy.toml [board])."""
    return [m.scope_key for m in user.memberships if m.role in board_roles and not m.scope_key.startswith("dept:")]


def supervision_board(session: Session, user: User, *, now: datetime, policy: Policy, calendar,
                      offset: int = 0, limit: int = PAGE_SIZE) -> Board:
    """Open cases overdue or at risk now by street, their open late or at-risk tasks by whose work
    they are (the stage's stages.toml owner) and by department (only the stages a department owns
    count against it: the centre's late acceptance or closing does not; a stage with its own clock,
    a 督办 reply, never does), and a page of the 督办 in progress, within the units where the user
    holds one of the policy's board roles."""
    scopes = board_scopes(user, policy.board_roles)
    in_scope = or_(*[under(Case.scope_path, s) for s in scopes]) if scopes else false()
    # The 督办 tasks and incidents are few and have their own (partial) indexes; a scope range the
    # planner could use instead would read every case of the district.
    few_in_scope = or_(*[under(hidden(Case.scope_path), s) for s in scopes]) if scopes else false()
    overdue = when((Case.due_at <= now, 1), else_=0)
    at_risk = when((and_(Case.due_at > now, Case.at_risk.is_(True)), 1), else_=0)
    live = and_(Case.status == "open", in_scope, or_(Case.due_at <= now, Case.at_risk.is_(True)))
    task_over = when((Task.due_at <= now, 1), else_=0)
    task_risk = when((and_(Task.due_at > now, Case.at_risk.is_(True)), 1), else_=0)
    late_tasks = (select(Task.stage, Task.scope_key, func.sum(task_over), func.sum(task_risk)).join(Task.case)
                  .where(Task.status == "open", Task.due_at.is_not(None), Case.status == "open", in_scope,
                         or_(Task.due_at <= now, Case.at_risk.is_(True)))
                  .group_by(Task.stage, Task.scope_key))
    departments = {d.code: d for d in session.scalars(select(Department))}
    per_department: dict[str, list[int]] = {}
    per_owner: dict[str, list[int]] = {}
    for stage, scope_key, n_over, n_risk in session.execute(late_tasks):
        if policy.own_clock(stage):
            continue
        owner = policy.stages[stage].owner if stage in policy.stages else "none"
        counts = per_owner.setdefault(owner, [0, 0])
        counts[0] += int(n_over or 0)
        counts[1] += int(n_risk or 0)
        if owner == "department" and scope_key.startswith("dept:"):
            counts = per_department.setdefault(scope_key[5:], [0, 0])
            counts[0] += int(n_over or 0)
            counts[1] += int(n_risk or 0)
    by_department = []
    for code, (n_over, n_risk) in per_department.items():
        dept = departments.get(code)
        by_department.append(BoardRow(code, dept.name if dept else code, dept.name_en if dept else code, n_over, n_risk))
    by_owner = [BoardRow(owner, owner, owner, o, r) for owner, (o, r) in per_owner.items()]
    streets = _streets(session)
    by_street = _by_street(streets, session.execute(
        select(Case.scope_path, func.sum(overdue), func.sum(at_risk)).where(live).group_by(Case.scope_path)).all())
    for rows_ in (by_department, by_street, by_owner):
        rows_[:] = [r for r in rows_ if r.overdue or r.at_risk]
        rows_.sort(key=lambda r: (-r.overdue, -r.at_risk, r.key))
    page = _supervision_page(session, few_in_scope, policy, calendar, departments, streets, now=now,
                             offset=offset, limit=limit)
    # Ordered by an expression, not the column: walking ix_case_updated for the order would read
    # every case when there is no incident, instead of the partial index of the few that have one.
    incidents = list(session.scalars(select(Case).where(Case.incident.is_not(None), few_in_scope)
                                     .order_by(func.coalesce(Case.updated_at, Case.created_at)).limit(100)))
    return Board(by_department, by_street, sum(r.overdue for r in by_street), sum(r.at_risk for r in by_street),
                 page, incidents, by_owner)


def _supervision_page(session: Session, in_scope, policy: Policy, calendar, departments, streets, *,
                      now: datetime, offset: int, limit: int) -> SupervisionPage:
    limit, offset = min(max(limit, 1), MAX_PAGE_SIZE), max(offset, 0)
    stages = policy.board_stages(SUPERVISION)
    if not stages:
        return SupervisionPage([], 0, limit, offset)
    # An open task's case is open: saying so lets its scope be read from the small ix_case_open.
    # The page's ids come first, so only its own cases' wide rows are read, not every order's.
    ids = (select(Task.id).join(Task.case)
           .where(Task.status == "open", Task.stage.in_(stages), Case.status == "open", in_scope))
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    page = ids.order_by(Task.created_at, Task.id).limit(limit).offset(offset)
    tasks = session.scalars(select(Task).where(Task.id.in_(page.scalar_subquery()))
                            .options(joinedload(Task.case).joinedload(Case.category))
                            .order_by(Task.created_at, Task.id)).all()
    rows = []
    for task in tasks:
        facts = task.facts or {}
        due, emergency = task.case.due_at, bool(task.case.category and task.case.category.emergency)
        hours = calendar.working_hours_between(due, now, emergency=emergency) if due and due <= now else None
        # the addressee the order names (none: the street centre); before it is issued, the case's department
        addressee = departments.get((facts[ADDRESSEE] if ADDRESSEE in facts else task.case.department_code) or "")
        rows.append(SupervisionRow(task, addressee, _street_of(streets, task.case.scope_path),
                                   facts.get(LATE_STAGE), hours, bool(task.due_at and task.due_at <= now),
                                   ADDRESSEE in facts and not facts[ADDRESSEE]))
    return SupervisionPage(rows, total, limit, offset)


def _streets(session: Session) -> dict[str, OrgUnit]:
    return {u.path: u for u in session.scalars(select(OrgUnit).where(OrgUnit.level == "street"))}


def _street_of(streets: dict[str, OrgUnit], path: str) -> OrgUnit | None:
    """The ancestor in a grid's path whose unit is a street (codes may have any width, so the path is
    read unit by unit)."""
    ancestors = ("/".join(path.split("/")[:i]) + "/" for i in range(1, path.count("/") + 1))
    return next((streets[prefix] for prefix in ancestors if prefix in streets), None)


def _by_street(streets: dict[str, OrgUnit], rows) -> list[BoardRow]:
    """Add up per-grid counts by street."""
    totals: dict[str, list[int]] = {}
    for path, n_over, n_risk in rows:
        street = _street_of(streets, path)
        total = totals.setdefault(street.path if street else path, [0, 0])
        total[0] += int(n_over or 0)
        total[1] += int(n_risk or 0)
    return [BoardRow(streets[p].code, streets[p].name, streets[p].name_en, o, r) if p in streets
            else BoardRow(p, p, p, o, r) for p, (o, r) in totals.items()]
