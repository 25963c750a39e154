"""Rating rounds (e.g. quarterly): an admin opens a round for a district or street and a period;
each community scores every department that handled a case of theirs closed in the period, on
the round's items; departments see their own results, streets and the district all within theirs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Case, Department, OrgUnit, RatingRound, RoundScore, User

from engine.access.org import scope_covers
from engine.assessment.twoway import config, local_bounds, round_scores_in_scope, viewer_scope
from engine.errors import Conflict, Forbidden, InputError, Message, NotFound
from engine.runtime import Runtime

ROUND_LEVELS = ("district", "street")


@dataclass(frozen=True)
class RoundSummary:
    id: int
    name: str
    period_start: date
    period_end: date
    unit_code: str
    unit_name: str
    status: str
    items: list[dict]
    may_score: bool        # the user scores for a community in it
    may_close: bool


def open_round(session: Session, rt: Runtime, user: User, *, name: Any, period_start: date | None,
               period_end: date | None, unit_code: Any) -> RoundSummary:
    """Open a round over a district or street for a period, with the items assessment.toml lists now."""
    cfg = config(rt)
    errors: dict[str, list[str]] = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        errors["name"] = [Message("a name is required")]
    elif len(name) > 100:
        errors["name"] = [Message("at most {n} characters", n=100)]
    if period_start is None:
        errors["period_start"] = [Message("a date (YYYY-MM-DD) is required")]
    if period_end is None:
        errors["period_end"] = [Message("a date (YYYY-MM-DD) is required")]
    elif period_start is not None and period_end < period_start:
        errors["period_end"] = [Message("must not be before period_start")]
    unit = session.scalars(select(OrgUnit).where(OrgUnit.code == unit_code, OrgUnit.active.is_(True))).first() \
        if isinstance(unit_code, str) else None
    if unit is None or unit.level not in ROUND_LEVELS:
        errors["unit"] = [Message("must be the code of a district or street")]
    if errors:
        raise InputError(errors)
    if not any(m.role in cfg.open_roles and scope_covers(m.scope_key, unit.path) for m in user.memberships):
        raise Forbidden(Message("only {roles} of {unit} may open a round there",
                                roles=", ".join(cfg.open_roles), unit=unit.name))
    rnd = RatingRound(name=name, period_start=period_start, period_end=period_end,
                      items=[item.as_dict() for item in cfg.items], scope_path=unit.path, status="open",
                      opened_by_id=user.id, opened_at=rt.clock())
    session.add(rnd)
    session.flush()
    return _summary(session, rt, user, rnd)


def close_round(session: Session, rt: Runtime, user: User, round_id: int) -> RoundSummary:
    """Close a round: no more scores are taken."""
    rnd = _round(session, rt, user, round_id)
    if not _may_open(rt, user, rnd):
        raise Forbidden(Message("only those who may open a round here may close it"))
    if rnd.status != "open":
        raise Conflict(Message("round {id} is already closed", id=rnd.id))
    rnd.status, rnd.closed_at = "closed", rt.clock()
    session.flush()
    return _summary(session, rt, user, rnd)


def rounds_for(session: Session, rt: Runtime, user: User) -> list[RoundSummary]:
    """Return the rounds the user takes part in or may read, newest first."""
    rounds = session.scalars(select(RatingRound).order_by(RatingRound.opened_at.desc(), RatingRound.id.desc()))
    return [_summary(session, rt, user, r) for r in rounds if _may_read(rt, user, r)]


def _summary(session: Session, rt: Runtime, user: User, r: RatingRound) -> RoundSummary:
    unit = session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.path == r.scope_path)).first()
    return RoundSummary(id=r.id, name=r.name, period_start=r.period_start, period_end=r.period_end,
                        unit_code=unit.code if unit else "", unit_name=unit.name if unit else "", status=r.status,
                        items=list(r.items), may_score=r.status == "open" and bool(_communities(session, rt, user, r)),
                        may_close=r.status == "open" and _may_open(rt, user, r))


@dataclass(frozen=True)
class SheetRow:
    """One department a community scores: its code, names and the points given so far (None: not yet)."""

    department_code: str
    name: str
    name_en: str
    cases: int
    scores: dict[str, float] | None
    total: float | None
    comment: str


@dataclass(frozen=True)
class Sheet:
    community_code: str
    community_name: str
    rows: list[SheetRow]


@dataclass(frozen=True)
class RoundSheets:
    round: RoundSummary
    sheets: list[Sheet]


def score_sheets(session: Session, rt: Runtime, user: User, round_id: int) -> RoundSheets:
    """Return the round and, for each community the user scores for, the departments to score in it."""
    rnd = _round(session, rt, user, round_id)
    sheets = []
    for community in _communities(session, rt, user, rnd):
        given = {s.department_code: s for s in session.scalars(
            select(RoundScore).where(RoundScore.round_id == rnd.id, RoundScore.community_id == community.id))}
        rows = []
        for code, name, name_en, cases in _dealt_with(session, rt, rnd, community):
            score = given.get(code)
            rows.append(SheetRow(code, name, name_en or name, cases, dict(score.scores) if score else None,
                                 score.total if score else None, score.comment if score else ""))
        sheets.append(Sheet(community.code, community.name, rows))
    return RoundSheets(_summary(session, rt, user, rnd), sheets)


def submit_scores(session: Session, rt: Runtime, user: User, round_id: int, *, community_code: Any,
                  department_code: Any, scores: Any, comment: Any = "") -> RoundScore:
    """Record (or replace) one community's scores of one department; every item, each 0 … its max."""
    rnd = _round(session, rt, user, round_id)
    if rnd.status != "open":
        raise Conflict(Message("round {id} is closed", id=rnd.id))
    communities = {c.code: c for c in _communities(session, rt, user, rnd)}
    community = communities.get(community_code) if isinstance(community_code, str) else None
    if community is None:
        raise InputError({"community": [Message("you do not score for this community in this round")]})
    dealt = {row[0] for row in _dealt_with(session, rt, rnd, community)}
    errors: dict[str, list[str]] = {}
    if not isinstance(department_code, str) or department_code not in dealt:
        errors["department"] = [Message("must be a department that handled a case of the community "
                                        "closed in the round's period")]
    items = {item["key"]: item for item in rnd.items}
    clean: dict[str, float] = {}
    if not isinstance(scores, dict):
        errors["scores"] = [Message("must give points for each item")]
    else:
        for key in scores:
            if key not in items:
                errors[f"scores.{key}"] = [Message("is not an item of this round")]
        for key, item in items.items():
            value = scores.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                errors[f"scores.{key}"] = [Message("points from 0 to {max} are required", max=_num(item["max"]))]
            elif not 0 <= value <= item["max"]:
                errors[f"scores.{key}"] = [Message("must be from 0 to {max}", max=_num(item["max"]))]
            else:
                clean[key] = float(value)
    comment = comment if isinstance(comment, str) else ""
    if len(comment) > 500:
        errors["comment"] = [Message("at most {n} characters", n=500)]
    if errors:
        raise InputError(errors)
    weight = sum(item["weight"] for item in items.values())
    total = round(100 * sum(items[k]["weight"] * clean[k] / items[k]["max"] for k in items) / weight, 2)
    row = session.scalars(select(RoundScore).where(RoundScore.round_id == rnd.id,
                                                   RoundScore.community_id == community.id,
                                                   RoundScore.department_code == department_code)).first()
    if row is None:
        row = RoundScore(round_id=rnd.id, community_id=community.id, department_code=department_code)
        session.add(row)
    row.scores, row.total, row.comment, row.by_id, row.at = clean, total, comment.strip(), user.id, rt.clock()
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(Message("these scores were just given by someone else; reload and try again")) from None
    return row


@dataclass(frozen=True)
class ResultRow:
    department_code: str
    name: str
    name_en: str
    communities: int            # how many communities scored it
    total: float                # mean weighted total, 0–100
    items: dict[str, float]     # mean points per item


@dataclass(frozen=True)
class RoundResults:
    round: RoundSummary
    results: list[ResultRow]


def round_results(session: Session, rt: Runtime, user: User, round_id: int) -> RoundResults:
    """Return each department's mean scores in the round, from the communities in the user's scope
    (a department's members: their own department), best first."""
    rnd = _round(session, rt, user, round_id)
    scope = viewer_scope(user, config(rt).viewers + config(rt).score_roles)
    rows = session.scalars(round_scores_in_scope(select(RoundScore), scope).where(RoundScore.round_id == rnd.id)).all()
    by_department: dict[str, list[RoundScore]] = {}
    for row in rows:
        by_department.setdefault(row.department_code, []).append(row)
    names = {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(by_department)))}
    keys = [item["key"] for item in rnd.items]
    results = []
    for code, scored in by_department.items():
        dept = names.get(code)
        results.append(ResultRow(
            code, dept.name if dept else code, (dept.name_en or dept.name) if dept else code, len(scored),
            round(sum(s.total for s in scored) / len(scored), 2),
            {k: round(sum(float(s.scores.get(k, 0)) for s in scored) / len(scored), 2) for k in keys}))
    results.sort(key=lambda r: (-r.total, r.department_code))
    return RoundResults(_summary(session, rt, user, rnd), results)


def _num(value: float) -> str:
    return f"{value:g}"


def _round(session: Session, rt: Runtime, user: User, round_id: int) -> RatingRound:
    rnd = session.get(RatingRound, round_id) if isinstance(round_id, int) else None
    if rnd is None or not _may_read(rt, user, rnd):
        raise NotFound(Message("no rating round {id}", id=round_id))
    return rnd


def _may_open(rt: Runtime, user: User, rnd: RatingRound) -> bool:
    return any(m.role in config(rt).open_roles and scope_covers(m.scope_key, rnd.scope_path) for m in user.memberships)


def _may_read(rt: Runtime, user: User, rnd: RatingRound) -> bool:
    """Members of the round's unit, of a unit above or below it, and department members (their own results)."""
    cfg = config(rt)
    roles = set(cfg.viewers) | set(cfg.score_roles) | set(cfg.open_roles)
    for m in user.memberships:
        if m.role not in roles:
            continue
        if m.scope_key.startswith("dept:") or m.scope_key.startswith(rnd.scope_path) \
                or rnd.scope_path.startswith(m.scope_key):
            return True
    return False


def _communities(session: Session, rt: Runtime, user: User, rnd: RatingRound) -> list[OrgUnit]:
    """The communities in the round's unit the user holds a scoring role over exactly."""
    paths = [m.scope_key for m in user.memberships if m.role in config(rt).score_roles
             and m.scope_key.startswith(rnd.scope_path)]
    if not paths:
        return []
    return list(session.scalars(select(OrgUnit).where(OrgUnit.path.in_(paths), OrgUnit.level == "community")
                                .order_by(OrgUnit.code)))


def _dealt_with(session: Session, rt: Runtime, rnd: RatingRound, community: OrgUnit) -> list[tuple[str, str, str, int]]:
    """Departments that handled a case of the community closed in the round's period, with how many."""
    since, until = local_bounds(rt, rnd.period_start, rnd.period_end)
    return [tuple(row) for row in session.execute(
        select(Case.department_code, Department.name, Department.name_en, func.count(distinct(Case.id)))
        .join(Department, Department.code == Case.department_code)
        .where(Case.scope_path.startswith(community.path), Case.closed_at >= since, Case.closed_at < until,
               Case.status == "closed")
        .group_by(Case.department_code, Department.name, Department.name_en).order_by(Case.department_code))]


@dataclass(frozen=True)
class RoundsPage:
    rounds: list[RoundSummary]
    open_units: list[tuple[str, str]]     # (code, name) of the districts and streets the user may open a round in


def rounds_page(session: Session, rt: Runtime, user: User) -> RoundsPage:
    """Return what the rounds page shows: the user's rounds and where they may open one."""
    roles = config(rt).open_roles
    paths = [m.scope_key for m in user.memberships if m.role in roles and not m.scope_key.startswith("dept:")]
    units = []
    if paths:
        units = [(u.code, u.name) for u in session.scalars(
            select(OrgUnit).where(OrgUnit.level.in_(ROUND_LEVELS), OrgUnit.active.is_(True)).order_by(OrgUnit.path))
            if any(u.path.startswith(p) for p in paths)]
    return RoundsPage(rounds_for(session, rt, user), units)


@dataclass(frozen=True)
class RoundPage:
    round: RoundSummary
    sheets: list[Sheet]
    results: list[ResultRow]


def round_page(session: Session, rt: Runtime, user: User, round_id: int) -> RoundPage:
    """Return what one round's page shows: the user's score sheets and the results in their scope."""
    sheets = score_sheets(session, rt, user, round_id)
    return RoundPage(sheets.round, sheets.sheets, round_results(session, rt, user, round_id).results)
