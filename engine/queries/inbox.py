"""Inbox queries: open tasks whose role and scope match a user's memberships, read from the task
table (joined to its case only for filters), least time left first, with filters and counts."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Mapping
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import and_, case as when, false, func, or_, select
from sqlalchemy.orm import Session, contains_eager, joinedload

from models import Case, Category, OrgUnit, SavedFilter, Task, User

from engine.lifecycle.cases import SOURCES
from engine.queries.choices import FilterOptions, filter_options
from engine.errors import InputError, Message, NotFound
from engine.queries.scope import under

FLAGS = ("overdue", "at_risk")
ASSIGNED = ("me", "unassigned")
STAGE_CODE = re.compile(r"^[a-z_]{1,32}$")
CATEGORY_CODE = re.compile(r"^[A-Z](\d{2}){1,2}$")  # 大类 (E01) or 小类 (E0102)
ORG_CODE = re.compile(r"^\d{6,20}$")
MAX_PAGE = 200


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox shows; every field None means "all of my tasks"."""

    stage: str | None = None
    category: str | None = None   # a 大类 (E01) or 小类 (E0102) code
    org: str | None = None        # code of a street, community or grid
    flag: str | None = None       # overdue | at_risk
    source: str | None = None     # patrol, hotline, ...
    assigned: str | None = None   # me | unassigned
    team: bool = False            # a shift leader's view: every open task of the cases they lead

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> InboxFilter:
        """Read a filter from query arguments; a bad value raises InputError naming the field."""
        values: dict = {}
        errors: dict[str, list[str]] = {}
        checks = {
            "stage": (lambda v: STAGE_CODE.match(v), Message("Must be a stage code such as accept or handle.")),
            "category": (lambda v: CATEGORY_CODE.match(v), Message("Must be a 大类 code such as E01 or a 小类 code such as E0102.")),
            "org": (lambda v: ORG_CODE.match(v), Message("Must be the code of a street, community or grid.")),
            "flag": (lambda v: v in FLAGS, Message("Must be one of: {choices}.", choices=", ".join(FLAGS))),
            "source": (lambda v: v in SOURCES, Message("Must be one of: {choices}.", choices=", ".join(SOURCES))),
            "assigned": (lambda v: v in ASSIGNED, Message("Must be one of: {choices}.", choices=", ".join(ASSIGNED))),
        }
        read_args(args, checks, values, errors)
        team = str(args.get("team", "")).lower()
        if team not in ("", "0", "1", "true", "false"):
            errors["team"] = [Message("Must be 1 or 0.")]
        values["team"] = team in ("1", "true")
        if errors:
            raise InputError(errors, "The inbox filter is invalid.")
        return cls(**values)

    def args(self) -> dict[str, str]:
        """The filter as query arguments (only what is set), the inverse of :meth:`parse`."""
        out = {k: v for k, v in asdict(self).items() if v not in (None, False)}
        if self.team:
            out["team"] = "1"
        return out


def read_args(args: Mapping[str, str], checks: dict, values: dict, errors: dict[str, list[str]]) -> None:
    """Put each non-blank argument that passes its check into ``values``; name the others in
    ``errors`` with the check's message. ``checks`` maps a name to (test, message)."""
    for name, (ok, message) in checks.items():
        raw = args.get(name)
        if raw is None or str(raw).strip() == "":
            continue
        value = str(raw).strip()
        if ok(value):
            values[name] = value
        else:
            errors[name] = [message]


@dataclass
class InboxPage:
    items: list[Task]
    total: int
    limit: int
    offset: int


def _scope_clause(scope_key: str):
    if scope_key.startswith("dept:"):
        return Task.scope_key == scope_key
    # An index range, not LIKE (which is none on SQLite once escaped): see engine/queries/scope.py.
    return under(Task.scope_key, scope_key)


def team_scopes(user: User, team_roles: tuple[str, ...]) -> list[str]:
    """The org units whose cases' tasks the user sees in the team view (policy.toml [team_view])."""
    return [m.scope_key for m in user.memberships if m.role in team_roles and not m.scope_key.startswith("dept:")]


def _mine(user: User, team: bool, team_roles: tuple[str, ...] = ()):
    if team:
        scopes = team_scopes(user, team_roles)
        return or_(*[under(Case.scope_path, s) for s in scopes]) if scopes else false()
    matches = [and_(Task.role == m.role, _scope_clause(m.scope_key)) for m in user.memberships]
    return and_(or_(*matches) if matches else false(),
                or_(Task.assignee_id.is_(None), Task.assignee_id == user.id))


def inbox_query(session: Session, user: User, f: InboxFilter | None = None, now: datetime | None = None,
                team_roles: tuple[str, ...] = ()):
    """Return a select of the user's open tasks joined to their cases, filtered, least time left first.

    A team filter shows the cases of the units where the user holds one of ``team_roles``."""
    f = f or InboxFilter()
    query = select(Task).join(Task.case).where(Task.status == "open", _mine(user, f.team, team_roles))
    for clause in _filter_clauses(session, user, f, now):
        query = query.where(clause)
    return query.order_by(Task.due_at.is_(None), Task.due_at, Task.id)


def _filter_clauses(session: Session, user: User, f: InboxFilter, now: datetime | None) -> list:
    clauses = []
    if f.stage:
        clauses.append(Task.stage == f.stage)
    if f.category:
        ids = select(Category.id).where(Category.code.startswith(f.category))
        clauses.append(Case.category_id.in_(ids))
    if f.org:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.code == f.org))
        if path is None:
            raise InputError({"org": [Message("No street, community or grid has this code.")]}, "The inbox filter is invalid.")
        clauses.append(under(Case.scope_path, path))
    if f.source:
        clauses.append(Case.source == f.source)
    if f.flag and now is None:
        raise ValueError("a flag filter needs the current time")
    if f.flag == "overdue":
        clauses.append(Task.due_at <= now)
    elif f.flag == "at_risk":
        clauses.append(and_(Task.due_at > now, Case.at_risk.is_(True)))
    if f.assigned == "me":
        clauses.append(Task.assignee_id == user.id)
    elif f.assigned == "unassigned":
        clauses.append(Task.assignee_id.is_(None))
    return clauses


def inbox_page(session: Session, user: User, f: InboxFilter | None = None, *, now: datetime,
               limit: int = 50, offset: int = 0, team_roles: tuple[str, ...] = ()) -> InboxPage:
    """One page of the inbox and the number of tasks matching the filter."""
    limit = min(max(limit, 1), MAX_PAGE)
    offset = max(offset, 0)
    query = inbox_query(session, user, f, now, team_roles)
    f = f or InboxFilter()
    if f.team or f.category or f.org or f.source or f.flag == "at_risk":
        counted = query.order_by(None).with_only_columns(Task.id)
        page = query.limit(limit).offset(offset)
    else:
        # No filter on the case: count and page the task rows alone (every task has its case),
        # then join only the page's cases, not the wide case rows of every match.
        tasks_only = select(Task.id).where(Task.status == "open", _mine(user, False),
                                           *_filter_clauses(session, user, f, now))
        counted = tasks_only
        ids = tasks_only.order_by(Task.due_at.is_(None), Task.due_at, Task.id).limit(limit).offset(offset)
        page = (select(Task).join(Task.case).where(Task.id.in_(ids.scalar_subquery()))
                .order_by(Task.due_at.is_(None), Task.due_at, Task.id))
    total = session.scalar(select(func.count()).select_from(counted.subquery()))
    items = list(session.scalars(page.options(contains_eager(Task.case).joinedload(Case.category),
                                              joinedload(Task.assignee))))
    return InboxPage(items, total or 0, limit, offset)


def inbox(session: Session, user: User, *, limit: int = 50, offset: int = 0, f: InboxFilter | None = None,
          now: datetime | None = None, team_roles: tuple[str, ...] = ()) -> list[Task]:
    query = inbox_query(session, user, f, now, team_roles).options(contains_eager(Task.case).joinedload(Case.category))
    return list(session.scalars(query.limit(limit).offset(offset)))


def inbox_counts(session: Session, user: User, *, now: datetime, team: bool = False,
                 team_roles: tuple[str, ...] = ()) -> dict:
    """Counts for the quick filters in one query: all, overdue, at risk, mine, unassigned, per stage."""
    overdue = when((Task.due_at <= now, 1), else_=0)
    # The at-risk cases as a set of ids, so the counts never read the (wide) case rows.
    risky = select(Case.id).where(Case.at_risk.is_(True), Case.status == "open")
    at_risk = when((and_(Task.due_at > now, Task.case_id.in_(risky)), 1), else_=0)
    mine = when((Task.assignee_id == user.id, 1), else_=0)
    unassigned = when((Task.assignee_id.is_(None), 1), else_=0)
    query = select(Task.stage, func.count(), func.sum(overdue), func.sum(at_risk), func.sum(mine), func.sum(unassigned))
    if team:  # the team view's scope is on the case
        query = query.join(Task.case)
    query = query.where(Task.status == "open", _mine(user, team, team_roles)).group_by(Task.stage)
    counts = {"all": 0, "overdue": 0, "at_risk": 0, "me": 0, "unassigned": 0, "stages": {}}
    for stage, total, n_over, n_risk, n_mine, n_free in session.execute(query):
        counts["all"] += total
        counts["overdue"] += int(n_over or 0)
        counts["at_risk"] += int(n_risk or 0)
        counts["me"] += int(n_mine or 0)
        counts["unassigned"] += int(n_free or 0)
        counts["stages"][stage] = total
    return counts


def count_matching(session: Session, user: User, f: InboxFilter, *, now: datetime,
                   team_roles: tuple[str, ...] = ()) -> int:
    query = inbox_query(session, user, f, now, team_roles).order_by(None).with_only_columns(func.count(Task.id))
    return session.scalar(query) or 0


def task_form(session: Session, rt, task: Task):
    """Return the form fields of a task, from the cached process spec (no workflow is loaded)."""
    node = rt.bundle(session, task.case.process_version_id).node(task.bpmn_id)
    return node.fields if node else ()


# -- saved filters -----------------------------------------------------------------------------
MAX_SAVED_FILTERS = 20


def saved_filters(session: Session, user: User) -> list[SavedFilter]:
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == user.id).order_by(SavedFilter.name)))


def save_filter(session: Session, user: User, name, f: InboxFilter, *, now: datetime) -> SavedFilter:
    """Save (or overwrite) a named filter of the user's inbox."""
    label = name.strip() if isinstance(name, str) else ""
    if not label or len(label) > 60 or "\x00" in label:
        raise InputError({"name": [Message("Give the filter a name of 1 to 60 characters.")]})
    query = urlencode(f.args())
    if not query:
        raise InputError({"name": [Message("Choose at least one filter before saving it.")]})
    existing = session.scalars(select(SavedFilter).where(SavedFilter.user_id == user.id,
                                                         SavedFilter.name == label)).first()
    if existing is not None:
        existing.query = query
        return existing
    if session.scalar(select(func.count()).where(SavedFilter.user_id == user.id)) >= MAX_SAVED_FILTERS:
        raise InputError({"name": [Message("You can keep at most {n} saved filters; delete one first.", n=MAX_SAVED_FILTERS)]})
    saved = SavedFilter(user_id=user.id, name=label, query=query, created_at=now)
    session.add(saved)
    return saved


def delete_filter(session: Session, user: User, filter_id: int) -> None:
    saved = session.get(SavedFilter, filter_id) if 0 < filter_id < 2 ** 63 else None
    if saved is None or saved.user_id != user.id:
        raise NotFound(f"saved filter {filter_id} does not exist")
    session.delete(saved)


def saved_filter_args(saved: SavedFilter) -> dict[str, str]:
    return dict(parse_qsl(saved.query))


# -- the inbox page's whole view -----------------------------------------------------------------
@dataclass
class InboxView:
    """What the inbox page shows: a page of tasks and, unless only rows are asked for, the
    quick-filter counts, the saved filters with their counts and the filter form's choices."""
    filter: InboxFilter
    page: InboxPage
    counts: dict | None = None
    saved: list[tuple[SavedFilter, int]] | None = None
    team_available: bool = False      # the user has the team view (policy.toml [team_view])
    calendar_years: list[int] | None = None  # years without official holidays, for [administer]
    options: FilterOptions | None = None


def inbox_view(session: Session, rt, user: User, f: InboxFilter, *, now: datetime, limit: int,
               offset: int, part: str = "page", cache: dict | None = None) -> InboxView:
    """The inbox for ``user``: ``part`` is "rows" (the next rows only), "body" (the list and its
    counts, for the periodic refresh) or "page" (everything the page shows)."""
    policy = rt.policy
    team_roles = policy.team_view_roles
    team_available = bool(team_scopes(user, team_roles))
    if f.team and not team_available:
        f = InboxFilter(**{**f.__dict__, "team": False})
    view = InboxView(f, inbox_page(session, user, f, now=now, limit=limit, offset=offset,
                                   team_roles=team_roles), team_available=team_available)
    if part == "rows":
        return view
    view.counts = inbox_counts(session, user, now=now, team=f.team, team_roles=team_roles)
    if part == "body":
        return view
    view.saved = [(s, count_matching(session, user, _saved_filter(s), now=now, team_roles=team_roles))
                  for s in saved_filters(session, user)]
    view.calendar_years = rt.calendar_missing_years() if policy.administers(user) else []
    view.options = filter_options(session, user, cache)
    return view


def _saved_filter(saved: SavedFilter) -> InboxFilter:
    """A saved filter as a filter; one that no longer parses (a rule changed) counts as none."""
    try:
        return InboxFilter.parse(saved_filter_args(saved))
    except InputError:
        return InboxFilter()
