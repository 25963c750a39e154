"""Assessment figures for a period, by street, community, grid, department, person, category or
source: counts, rates, composites and role scores with grades, read from assessment_fact rows
(one grouped range read per report), and the cases behind any figure."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from models import AssessmentFact, AssessmentTally, Case, Category, Department, Membership, OrgUnit, User

from engine.assessment.periods import Period
from engine.errors import Forbidden, InputError, Message
from engine.process.assessment import GROUPINGS, Definitions, definitions_of
from engine.process.deploy import latest_version
from engine.runtime import Runtime

F, T = AssessmentFact, AssessmentTally
MAX_PAGE = 200
COARSE_LEVELS = ("city", "district", "street")


@dataclass
class Item:
    key: str | None
    name: str
    name_en: str
    values: dict[str, Any]
    score: float | None = None
    score_name: str | None = None
    grade: str | None = None


@dataclass
class Report:
    by: str
    period: Period
    items: list[Item]
    total: Item
    definitions: Definitions
    process: str | None
    made_at: datetime
    previous: dict[str | None, Item] = field(default_factory=dict)
    previous_period: Period | None = None


@dataclass
class TrendPoint:
    month: str
    values: dict[str, Any]


@dataclass
class CasesBehind:
    codes: list[str]
    total: int
    limit: int
    offset: int
    fact: str


class Viewer:
    """Whose facts a user may read: the org subtrees and departments where they hold a viewer role.

    ``coarse`` viewers read only streets or larger units (and departments): the monthly tallies,
    kept per street, hold exactly their scope; anyone else is answered from the facts alone."""

    def __init__(self, session: Session, user: User, roles: tuple[str, ...]):
        held = [m for m in user.memberships if m.role in roles]
        if not held:
            raise Forbidden(Message("The assessment is for {roles}.", roles=", ".join(roles)))
        self.paths = [m.scope_key for m in held if not m.scope_key.startswith("dept:")]
        self.departments = [m.scope_key[5:] for m in held if m.scope_key.startswith("dept:")]
        levels = list(session.scalars(select(OrgUnit.level).where(OrgUnit.path.in_(self.paths)))) if self.paths else []
        self.coarse = len(levels) == len(set(self.paths)) and all(lv in COARSE_LEVELS for lv in levels)

    def clause(self):
        clauses = [F.scope_path.startswith(p, autoescape=True) for p in self.paths]
        if self.departments:
            clauses.append(F.department.in_(self.departments))
        return or_(*clauses) if clauses else false()

    def tally_clause(self):
        clauses = [T.street_path.startswith(p, autoescape=True) for p in self.paths]
        if self.departments:
            clauses.append(T.department.in_(self.departments))
        return or_(*clauses) if clauses else false()


def current_definitions(session: Session, rt: Runtime) -> tuple[Definitions, str | None]:
    """The definitions of the latest deployed version (else the processes folder's), and that version."""
    version = latest_version(session, rt.settings["CASE_PROCESS"])
    files = (version.source_files or {}) if version else {}
    return definitions_of(files, rt.settings["PROCESSES_DIR"]), (f"{version.key} v{version.version}" if version else None)


def breakdown_choices(session: Session, rt: Runtime, defs: Definitions) -> dict[str, dict[str, str]]:
    """Each breakdown's values named by the choices of the form field they come from, as drawn in
    the latest deployed version (the pages translate them like any diagram text)."""
    version = latest_version(session, rt.settings["CASE_PROCESS"])
    if version is None:
        return {}
    bundle = rt.bundle(session, version.id)
    out: dict[str, dict[str, str]] = {}
    for name, breakdown in defs.breakdowns.items():
        names = out.setdefault(name, {})
        for matcher in defs.facts[breakdown.fact]:
            node = bundle.node(matcher.task) if matcher.task else None
            for spec in (node.fields if node else ()):
                if spec.id == breakdown.field:
                    names.update(dict(spec.options))
    return out


def check_grouping(by: str) -> str:
    if by not in GROUPINGS:
        raise InputError({"by": [Message("Must be one of: {choices}.", choices=", ".join(GROUPINGS))]},
                         "The grouping is invalid.")
    return by


def assessment(session: Session, rt: Runtime, user: User, period: Period, by: str, *,
               compare: bool = False) -> Report:
    """The figures of ``period`` grouped ``by``, within what ``user`` may see; with ``compare``,
    the previous period's too (same shape: the month, quarter or year before)."""
    check_grouping(by)
    defs, process = current_definitions(session, rt)
    viewer = Viewer(session, user, defs.viewers)
    split = tuple(b.fact for b in defs.breakdowns.values())
    grouped = _read(session, rt, viewer, period, by, breakdowns=split)
    items, total = _items(session, defs, by, grouped)
    report = Report(by, period, items, total, defs, process, rt.clock())
    if compare:
        report.previous_period = period.previous()
        before, before_total = _items(session, defs, by, _read(session, rt, viewer, report.previous_period, by,
                                                               breakdowns=split))
        report.previous = {i.key: i for i in before}
        report.previous[None] = before_total
    return report


def trend(session: Session, rt: Runtime, user: User, period: Period, by: str | None = None,
          key: str | None = None) -> list[TrendPoint]:
    """Month by month over ``period``, for one unit or the whole scope."""
    defs, _ = current_definitions(session, rt)
    viewer = Viewer(session, user, defs.viewers)
    points = []
    for month in period.months():
        facts = _read(session, rt, viewer, month, check_grouping(by) if by else "street", only=key if by else None)
        merged: dict[str, tuple] = {}
        for per_key in facts.values():
            for kind, counts in per_key.items():
                merged[kind] = _plus(merged.get(kind), counts)
        points.append(TrendPoint(month.first.strftime("%Y-%m"), _values(defs, merged)))
    return points


def cases_behind(session: Session, rt: Runtime, user: User, period: Period, by: str, key: str | None,
                 indicator: str, *, denominator: bool = False, detail: str | None = None, limit: int = 50,
                 offset: int = 0) -> CasesBehind:
    """The cases a figure counts (a rate's numerator, or its denominator), paged by case code; with
    ``detail``, those of one value of a breakdown (``cancelled`` with ``invalid``: 注销 as 无效信息)."""
    defs, _ = current_definitions(session, rt)
    viewer = Viewer(session, user, defs.viewers)
    check_grouping(by)
    name = indicator
    if indicator in defs.rates:
        rate = defs.rates[indicator]
        name = rate.den if denominator else rate.num
    if name not in defs.counts:
        choices = ", ".join(list(defs.counts) + list(defs.rates))
        raise InputError({"indicator": [Message("Must be one of: {choices}.", choices=choices)]}, "The indicator is invalid.")
    aggregate, fact = defs.counts[name]
    if detail is not None and name not in defs.breakdowns:
        choices = ", ".join(defs.breakdowns) or "none"
        raise InputError({"detail": [Message("Only a broken-down count has details; broken down: {choices}.",
                                             choices=choices)]}, "The detail is invalid.")
    start, end = period.bounds(rt.calendar.tz)
    where = [F.at >= start, F.at < end, F.kind == fact, viewer.clause()]
    if detail is not None:
        where.append(F.detail == detail)
    if key:
        where.append(_column(by) == key)
    if aggregate == "sum":
        where.append(F.value > 0)
    elif aggregate == "valued":
        where.append(F.value.is_not(None))
    ids = select(F.case_id).where(*where).distinct()
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    limit, offset = min(max(limit, 1), MAX_PAGE), max(offset, 0)
    codes = list(session.scalars(select(Case.code).where(Case.id.in_(ids)).order_by(Case.code).limit(limit).offset(offset)))
    return CasesBehind(codes, total, limit, offset, fact)


# ---------------------------------------------------------------- reading and computing

def _column(by: str):
    return getattr(F, "category" if by == "category" else by)


def _whole_months(period: Period) -> list[Period]:
    return [m for m in period.months() if m.first.day == 1 and (m.last + timedelta(days=1)).day == 1]


def _plus(a: tuple | None, b: tuple) -> tuple:
    return b if a is None else (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _read(session: Session, rt: Runtime, viewer: Viewer, period: Period, by: str,
          only: str | None = None, breakdowns: tuple[str, ...] = ()) -> dict[str | None, dict[Any, tuple]]:
    """(count, sum, valued) of each kind of fact per key of ``by``: whole months from the tallies
    (for coarse viewers), the rest of the period from the facts. The facts of ``breakdowns`` (few:
    a case is cancelled once) are counted per detail too, from the facts, under (kind, detail)."""
    tz = rt.calendar.tz
    start, end = period.bounds(tz)
    grouped: dict[str | None, dict[str, tuple]] = {}

    def take(rows):
        for key, kind, n, total, valued in rows:
            key = key or None
            if n or valued:
                per = grouped.setdefault(key, {})
                per[kind] = _plus(per.get(kind), (int(n), round(float(total or 0.0), 6), int(valued)))

    column = _column(by)
    ranges = [(start, end)]
    whole = _whole_months(period) if viewer.coarse else []
    if whole:
        where = [T.grouping == by, T.month >= whole[0].first, T.month <= whole[-1].first, viewer.tally_clause()]
        if only is not None:
            where.append(T.key == only)
        take(session.execute(select(T.key, T.kind, func.sum(T.n), func.sum(T.total), func.sum(T.valued))
                             .where(*where).group_by(T.key, T.kind)).all())
        ranges = [(start, whole[0].bounds(tz)[0]), (whole[-1].bounds(tz)[1], end)]
    for low, high in ranges:
        if low >= high:
            continue
        where = [F.at >= low, F.at < high, viewer.clause()]
        if only is not None:
            where.append(column == only)
        take(session.execute(select(column, F.kind, func.count(), func.sum(F.value), func.count(F.value))
                             .where(*where).group_by(column, F.kind)).all())
    if breakdowns:
        where = [F.kind.in_(breakdowns), F.at >= start, F.at < end, viewer.clause()]
        if only is not None:
            where.append(column == only)
        for key, kind, detail, n in session.execute(select(column, F.kind, F.detail, func.count())
                                                    .where(*where).group_by(column, F.kind, F.detail)):
            per = grouped.setdefault(key or None, {})
            per[(kind, detail or "")] = (int(n), 0.0, 0)
    return grouped


def _number(value: float):
    return int(value) if float(value).is_integer() else round(value, 2)


def _values(defs: Definitions, facts: dict[str, tuple]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, (aggregate, fact) in defs.counts.items():
        n, total, valued = facts.get(fact, (0, 0.0, 0))
        values[name] = {"count": int(n), "sum": _number(total), "valued": int(valued)}[aggregate]
    for rate in defs.rates.values():
        den = values[rate.den] - (values.get("parked", 0) if rate.minus_parked and defs.subtract_parked else 0)
        value = values[rate.num] / den if den > 0 else None
        if value is not None and rate.complement:
            value = 1 - value
        values[rate.name] = round(value, 4) if value is not None else None
    for name, (_, weights) in defs.composites.items():
        parts = [values[r] for r in weights]
        values[name] = None if any(p is None for p in parts) else round(sum(values[r] * w for r, w in weights.items()), 4)
    for name, breakdown in defs.breakdowns.items():
        values[f"{name}_by"] = {k[1]: n for k, (n, _, _) in sorted(facts.items(), key=lambda kv: str(kv[0]))
                                if isinstance(k, tuple) and k[0] == breakdown.fact}
    return values


def _score(defs: Definitions, score, values: dict[str, Any]) -> float | None:
    got = [(t, values[t.rate]) for t in score.terms if values.get(t.rate) is not None]
    if not got:
        return None
    weight = sum(t.weight for t, _ in got)
    points = sum(t.weight * ((1 - v) if t.complement else v) for t, v in got)
    return round(points * score.full_weight / weight, 1)


def _items(session: Session, defs: Definitions, by: str, grouped: dict) -> tuple[list[Item], Item]:
    names = _names(session, by, [k for k in grouped if k is not None])
    scores = [s for s in defs.scores.values() if by in s.by]
    holders = _role_holders(session, [s.role for s in scores if s.role], list(names)) if by == "person" else {}
    items = []
    for key, facts in grouped.items():
        if key is None:
            continue
        name, name_en = names.get(key, (key, key))
        item = Item(key, name, name_en, _values(defs, facts))
        score = next((s for s in scores if s.role is None or s.role in holders.get(key, ())), None)
        if score is not None:
            item.score, item.score_name = _score(defs, score, item.values), score.name
            item.grade = defs.grade(item.score)
        items.append(item)
    items.sort(key=lambda i: (i.score is None, -(i.score or 0), i.key))
    merged: dict[str, tuple] = {}
    for facts in grouped.values():
        for kind, counts in facts.items():
            merged[kind] = _plus(merged.get(kind), counts)
    return items, Item(None, "合计", "Total", _values(defs, merged))


def _names(session: Session, by: str, keys: list[str]) -> dict[str, tuple[str, str]]:
    if not keys:
        return {}
    if by in ("street", "community", "grid"):
        rows = session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.name_en).where(OrgUnit.code.in_(keys)))
    elif by == "department":
        rows = session.execute(select(Department.code, Department.name, Department.name_en).where(Department.code.in_(keys)))
    elif by == "person":
        rows = session.execute(select(User.username, User.name, User.name).where(User.username.in_(keys)))
    elif by == "category":
        rows = session.execute(select(Category.code, Category.name, Category.name_en).where(Category.code.in_(keys)))
    elif by == "major":
        rows = session.execute(select(func.substr(Category.code, 1, 3), func.min(Category.major_name),
                                      func.min(Category.major_name_en))
                               .where(func.substr(Category.code, 1, 3).in_(keys)).group_by(func.substr(Category.code, 1, 3)))
    else:
        return {k: (k, k) for k in keys}
    return {code: (name, name_en or name) for code, name, name_en in rows}


def _role_holders(session: Session, roles: list[str], usernames: list[str]) -> dict[str, set[str]]:
    if not roles or not usernames:
        return {}
    out: dict[str, set[str]] = {}
    for username, role in session.execute(select(User.username, Membership.role).join(Membership, Membership.user_id == User.id)
                                          .where(User.username.in_(usernames), Membership.role.in_(roles))):
        out.setdefault(username, set()).add(role)
    return out



@dataclass
class Dashboard:
    """What the assessment page shows: the report (with the previous period) and a year's trend."""

    report: Report
    trend: list[TrendPoint]
    trend_period: Period


def dashboard(session: Session, rt: Runtime, user: User, period: Period, by: str) -> Dashboard:
    """The period's ranking by ``by`` compared with the previous period, and the twelve months up to
    the period's end month by month."""
    report = assessment(session, rt, user, period, by, compare=True)
    end = period.last.replace(day=1)
    index = end.year * 12 + end.month - 1 - 11
    year = Period(end.replace(year=index // 12, month=index % 12 + 1), period.last)
    return Dashboard(report, trend(session, rt, user, year), year)


def may_read(user: User, definitions: Definitions) -> bool:
    return any(m.role in definitions.viewers for m in user.memberships)


def late_by_owner(session: Session, rt: Runtime, user: User, period: Period) -> dict[str, int]:
    """Late task completions in the period by whose work they were (centre, department, community)."""
    defs, _ = current_definitions(session, rt)
    viewer = Viewer(session, user, defs.viewers)
    start, end = period.bounds(rt.calendar.tz)
    rows = session.execute(select(F.owner, func.count()).where(F.at >= start, F.at < end, F.kind == "late",
                                                               viewer.clause()).group_by(F.owner))
    return {owner: int(n) for owner, n in rows if owner}
