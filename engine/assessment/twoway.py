"""Two-way assessment (下对上): the community's rating of the department that handled each closing,
recorded with the step that completes the rating task, and each department's two-way figures for a
period (per-case ratings and round scores) within the caller's scope."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from models import Case, Department, OrgUnit, RatingRound, RoundScore, UnitRating, User

from engine.errors import InputError, Message
from engine.process.two_way import TWO_WAY_FILE, TwoWay, load_two_way
from engine.runtime import Runtime


def subscribe(rt: Runtime) -> Runtime:
    """Record the community's rating with the step that completes the rating task."""
    rt.subscribe(partial(record_unit_rating, rt=rt))
    return rt


def config(rt: Runtime) -> TwoWay:
    return load_two_way(rt.settings["PROCESSES_DIR"])


def record_unit_rating(session: Session, step, *, rt: Runtime) -> None:
    """Store a ``unit_rating`` row when the step completed the two-way rating task."""
    main = step.events[0] if step.events else None
    if main is None or main.get("kind") != "task_completed":
        return
    if not os.path.isfile(os.path.join(rt.settings["PROCESSES_DIR"], TWO_WAY_FILE)):
        return  # a processes folder without two-way assessment: nothing to record
    cfg = config(rt)
    if main.get("task_bpmn_id") != cfg.task:
        return
    data = main.get("data") or {}
    case = step.case
    grid_parent = session.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == case.grid_id))
    community = session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id == grid_parent)).first()
    session.add(UnitRating(case_id=case.id, department_code=case.department_code, community_id=community.id,
                           community_path=community.path, rating=str(data.get(cfg.rating_field)),
                           reason=str(data.get(cfg.reason_field) or ""), rated_by_id=main.get("actor_id"),
                           rated_at=step.at))


@dataclass(frozen=True)
class Scope:
    """What a user may read: org subtrees (by path) and departments (by code)."""

    paths: tuple[str, ...]
    departments: tuple[str, ...]

    def where(self, path_column, department_column):
        terms = [path_column.startswith(p) for p in self.paths]
        if self.departments:
            terms.append(department_column.in_(self.departments))
        return or_(*terms) if terms else false()


def viewer_scope(user: User, roles: tuple[str, ...]) -> Scope:
    paths = tuple(m.scope_key for m in user.memberships if m.role in roles and not m.scope_key.startswith("dept:"))
    departments = tuple(m.scope_key[5:] for m in user.memberships if m.role in roles and m.scope_key.startswith("dept:"))
    return Scope(paths, departments)


def local_bounds(rt: Runtime, start: date, end: date) -> tuple[datetime, datetime]:
    """The instants from the start of ``start`` to the end of ``end`` in the calendar's time zone."""
    tz = rt.calendar.tz
    return datetime.combine(start, time(), tz), datetime.combine(end + timedelta(days=1), time(), tz)


def check_period(start: date | None, end: date | None) -> tuple[date, date]:
    errors = {}
    if start is None:
        errors["from"] = [Message("a date (YYYY-MM-DD) is required")]
    if end is None:
        errors["to"] = [Message("a date (YYYY-MM-DD) is required")]
    if not errors and end < start:
        errors["to"] = [Message("must not be before from")]
    if errors:
        raise InputError(errors)
    return start, end


@dataclass(frozen=True)
class DepartmentTwoWay:
    """One department's two-way figures for a period."""

    code: str
    name: str
    name_en: str
    rated: int                      # closings its communities rated
    satisfied: int
    basically: int
    dissatisfied: int
    rating_score: float | None      # mean points of the ratings (assessment.toml points), 0–1
    round_scores: int               # communities' round score sheets for rounds ending in the period
    round_score: float | None       # their mean total, 0–100


def two_way_figures(session: Session, rt: Runtime, user: User, start: date | None, end: date | None
                    ) -> list[DepartmentTwoWay]:
    """Return each department's ratings by its communities and round scores in the period, for the
    communities and departments in the user's scope, best rating score first."""
    start, end = check_period(start, end)
    cfg = config(rt)
    scope = viewer_scope(user, cfg.viewers)
    since, until = local_bounds(rt, start, end)
    ratings: dict[str, dict[str, int]] = {}
    for code, rating, n in session.execute(
            select(UnitRating.department_code, UnitRating.rating, func.count())
            .where(UnitRating.rated_at >= since, UnitRating.rated_at < until, UnitRating.department_code.is_not(None),
                   scope.where(UnitRating.community_path, UnitRating.department_code))
            .group_by(UnitRating.department_code, UnitRating.rating)):
        ratings.setdefault(code, {})[rating] = n
    rounds: dict[str, tuple[int, float]] = {}
    for code, n, mean in session.execute(
            round_scores_in_scope(select(RoundScore.department_code, func.count(), func.avg(RoundScore.total)), scope)
            .where(RatingRound.period_end >= start, RatingRound.period_end <= end)
            .group_by(RoundScore.department_code)):
        rounds[code] = (n, float(mean))
    codes = set(ratings) | set(rounds)
    names = {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(codes)))} if codes else {}
    result = []
    for code in codes:
        counts = ratings.get(code, {})
        scored = [(cfg.points[r], n) for r, n in counts.items() if r in cfg.points]
        total = sum(n for _, n in scored)
        dept = names.get(code)
        result.append(DepartmentTwoWay(
            code=code, name=dept.name if dept else code, name_en=(dept.name_en or dept.name) if dept else code,
            rated=sum(counts.values()), satisfied=counts.get("satisfied", 0), basically=counts.get("basically", 0),
            dissatisfied=counts.get("dissatisfied", 0),
            rating_score=round(sum(p * n for p, n in scored) / total, 4) if total else None,
            round_scores=rounds.get(code, (0, 0.0))[0],
            round_score=round(rounds[code][1], 2) if code in rounds else None))
    result.sort(key=lambda d: (d.rating_score is None, -(d.rating_score or 0), d.round_score is None,
                               -(d.round_score or 0), d.code))
    return result


@dataclass(frozen=True)
class CaseRating:
    case_code: str
    community: str
    rating: str
    reason: str
    rated_at: datetime


def department_ratings(session: Session, rt: Runtime, user: User, code: str, start: date | None,
                       end: date | None) -> list[CaseRating]:
    """Return the community ratings behind one department's figure, newest first (the drill-down)."""
    start, end = check_period(start, end)
    scope = viewer_scope(user, config(rt).viewers)
    since, until = local_bounds(rt, start, end)
    rows = session.execute(
        select(Case.code, OrgUnit.name, UnitRating.rating, UnitRating.reason, UnitRating.rated_at)
        .join(Case, Case.id == UnitRating.case_id).join(OrgUnit, OrgUnit.id == UnitRating.community_id)
        .where(UnitRating.department_code == code, UnitRating.rated_at >= since, UnitRating.rated_at < until,
               scope.where(UnitRating.community_path, UnitRating.department_code))
        .order_by(UnitRating.rated_at.desc(), UnitRating.id.desc()))
    return [CaseRating(*row) for row in rows]


def round_scores_in_scope(query: Select, scope: Scope) -> Select:
    return (query.join(RatingRound, RatingRound.id == RoundScore.round_id)
            .join(OrgUnit, OrgUnit.id == RoundScore.community_id)
            .where(scope.where(OrgUnit.path, RoundScore.department_code)))
