"""Finding cases: what a user may see, filtered and paged (the supervision board is engine/queries/board.py).

Search reads only indexed paths at a million cases: scopes are index ranges (engine/queries/scope.py),
pages are a keyset over (created_at, id) walked newest first (offsets still work, at their cost),
words of three or more characters go through the trigram text index (models/text_index.py),
and the total is counted up to SEARCH_COUNT_LIMIT only. The workflow state is never loaded.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping

from sqlalchemy import false, func, literal, or_, select, text, tuple_
from sqlalchemy.orm import Session, selectinload

from models import Case, Category, OrgUnit, Task, User

from engine.lifecycle.cases import SOURCES
from engine.errors import InputError, Message
from engine.queries.inbox import CATEGORY_CODE, FLAGS, MAX_PAGE, ORG_CODE, STAGE_CODE, read_args
from engine.access.org import DEPT_CODE
from engine.queries.scope import under

STATUSES = ("open", "closed", "cancelled", "duplicate")
LATE_OWNERS = ("centre", "department", "community")
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
    late: str | None = None         # whose work is late now: centre, department or community (stages.toml owner)
    created_from: date | None = None
    created_to: date | None = None
    updated_since: datetime | None = None  # changed at or after this moment (integrators poll with it)

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
            "late": (lambda v: v in LATE_OWNERS, Message("Must be one of: {choices}.", choices=", ".join(LATE_OWNERS))),
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
        raw = args.get("updated_since")
        if raw:
            try:
                moment = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                errors["updated_since"] = [Message("Must be a date and time with a time zone, like "
                                                   "2026-11-26T08:00:00+08:00.")]
            else:
                values["updated_since"] = moment
        if errors:
            raise InputError(errors, "The case filter is invalid.")
        return cls(**values)

    def args(self) -> dict[str, str]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items() if v is not None}


def encode_cursor(case: Case) -> str:
    """The opaque position after ``case`` in newest-first order (stable: new cases come before it)."""
    moment = case.created_at.astimezone(timezone.utc).isoformat()
    return base64.urlsafe_b64encode(f"{moment}|{case.id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Read a cursor that encode_cursor made; InputError naming ``cursor`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, case_id = raw.split("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None or len(cursor) > 80:
            raise ValueError(cursor)
        return at, int(case_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InputError({"cursor": [Message("Must be the next_cursor of an earlier page.")]},
                         "The case filter is invalid.") from None


@dataclass
class CasePage:
    items: list[Case]
    total: int              # how many match, counted up to SEARCH_COUNT_LIMIT
    limit: int
    offset: int
    total_exact: bool = True  # False: more than ``total`` match
    next_cursor: str | None = None  # the cursor of the next page, None on the last


# Words shorter than this have no trigram to look up (see _words below).
TRIGRAM = 3


def visible_clause(user: User, column=lambda c: c):
    """Cases in the user's org subtrees, or handled by one of their departments."""
    clauses = []
    for m in user.memberships:
        if m.scope_key.startswith("dept:"):
            clauses.append(column(Case.department_code) == m.scope_key[5:])
        else:
            clauses.append(under(column(Case.scope_path), m.scope_key))
    return or_(*clauses) if clauses else false()


def hidden(column):
    """The same value, which SQLite's planner cannot look up in an index (``x || ''``, ``id + 0``)."""
    return column + 0 if column is Case.id else column.concat("")


def _words(session: Session, words: str, column=lambda c: c):
    """Cases whose address or description holds ``words`` (any case), or whose code it is.

    Three or more characters are looked up in the trigram index: FTS5 on SQLite, pg_trgm on
    PostgreSQL. Shorter words have no trigram, so they are matched row by row (LIKE) while the
    search walks the visible cases newest first: a page of a common word such as 垃圾 is found
    after a few hundred rows, while a rare one- or two-character word reads every visible case."""
    code = column(Case.code) == words.upper()
    dialect = session.get_bind().dialect.name
    if len(words) >= TRIGRAM and dialect == "sqlite":
        phrase = '"' + words.replace('"', '""') + '"'
        return or_(code, column(Case.id).in_(text("SELECT rowid FROM case_text WHERE case_text MATCH :phrase")
                                     .bindparams(phrase=phrase)))
    if len(words) >= TRIGRAM and dialect == "postgresql":
        pattern = "%" + words.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        return or_(code, Case.address.ilike(pattern, escape="/"), Case.description.ilike(pattern, escape="/"))
    return or_(code, Case.address.contains(words, autoescape=True), Case.description.contains(words, autoescape=True))


def search_cases(session: Session, rt, user: User, f: CaseFilter | None = None, *, now: datetime,
                 limit: int = 50, offset: int = 0, cursor: str | None = None) -> CasePage:
    """One page of the cases ``user`` may see that match ``f``, newest first: after ``cursor`` (the
    page before's next_cursor) or, for older clients, after skipping ``offset`` cases."""
    f = f or CaseFilter()
    limit, offset = min(max(limit, 1), MAX_PAGE), max(offset, 0)
    after = decode_cursor(cursor) if cursor else None
    if after and offset:
        raise InputError({"offset": [Message("Give either cursor or offset, not both.")]}, "The case filter is invalid.")
    cap = max(int(rt.settings.get("SEARCH_COUNT_LIMIT", 1000)), 1)
    query = _matching(session, rt, user, f, now)
    counted = session.scalar(select(func.count()).select_from(
        query.with_only_columns(literal(1)).limit(cap + 1).subquery())) or 0
    if counted > cap and session.get_bind().dialect.name == "sqlite":
        # Many match: walking ix_case_newest finds a page at once, but SQLite's planner would rather
        # read every match through the scope or text index and sort them (seconds at a million).
        query = _matching(session, rt, user, f, now, column=hidden)
    if after:
        query = query.where(tuple_(Case.created_at, Case.id) < tuple_(literal(after[0], Case.created_at.type), after[1]))
    rows = list(session.scalars(query.options(selectinload(Case.category), selectinload(Case.grid))
                                .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit + 1).offset(offset)))
    items = rows[:limit]
    return CasePage(items, min(counted, cap), limit, offset, total_exact=counted <= cap,
                    next_cursor=encode_cursor(items[-1]) if len(rows) > limit else None)


def _matching(session: Session, rt, user: User, f: CaseFilter, now: datetime, column=lambda c: c):
    """The select of the cases ``user`` may see that match ``f``; ``column`` may hide the indexed
    columns from the planner (see search_cases)."""
    return apply_filter(session, rt, select(Case).where(visible_clause(user, column)), f, now=now, column=column)


def apply_filter(session: Session, rt, query, f: CaseFilter, *, now: datetime, column=lambda c: c):
    """Narrow a query of cases to those the filter admits (the search page's, the map's)."""
    if f.q:
        query = query.where(_words(session, f.q, column))
    if f.status:
        query = query.where(column(Case.status) == f.status)
    if f.stage:
        query = query.where(column(Case.stage) == f.stage)
    if f.category:
        query = query.where(Case.category_id.in_(select(Category.id).where(Category.code.startswith(f.category))))
    if f.org:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.code == f.org))
        if path is None:
            raise InputError({"org": [Message("No org unit has this code.")]}, "The case filter is invalid.")
        query = query.where(under(column(Case.scope_path), path))
    if f.department:
        query = query.where(column(Case.department_code) == f.department)
    if f.source:
        query = query.where(column(Case.source) == f.source)
    if f.flag == "overdue":
        query = query.where(column(Case.status) == "open", Case.due_at <= now)
    elif f.flag == "at_risk":
        query = query.where(column(Case.status) == "open", Case.due_at > now, Case.at_risk.is_(True))
    if f.late:
        # a stage with its own clock (a 督办 reply) is never the case's lateness (as on the board)
        stages = [code for code, stage in rt.policy.stages.items() if stage.owner == f.late and not stage.own_clock]
        query = query.where(column(Case.status) == "open", select(Task.id).where(
            Task.case_id == Case.id, Task.status == "open", Task.due_at <= now, Task.stage.in_(stages)).exists())
    tz = rt.calendar.tz
    if f.created_from:
        query = query.where(Case.created_at >= datetime.combine(f.created_from, time(), tz))
    if f.created_to:
        query = query.where(Case.created_at < datetime.combine(f.created_to, time(), tz) + _ONE_DAY)
    if f.updated_since:
        query = query.where(Case.updated_at >= f.updated_since)
    return query


_ONE_DAY = timedelta(days=1)
