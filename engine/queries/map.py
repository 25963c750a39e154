"""The map: grids of a user's units as GeoJSON polygons shaded by their overdue cases over a
period, the cases as points coloured by their SLA state; and the reporter's point picker."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case as when, false, func, or_, select
from sqlalchemy.orm import Session

from models import Case, Category, OrgUnit, User

from engine.city.places import place_point, wgs84_point
from engine.lifecycle.cases import reporter_roles
from engine.queries.scope import under
from engine.queries.search import CaseFilter, apply_filter
from engine.runtime import Runtime

SLA_STATES = ("on_time", "at_risk", "overdue")


@dataclass
class CaseMap:
    """What /map shows: ``geojson`` holds the grids (kind "grid") and then the case points (kind "case")."""

    geojson: dict[str, Any]
    period: tuple[date, date]
    cases: int            # cases of the filter and period in the user's units
    overdue: int
    without_point: int    # counted in their grid's shading, but reported without coordinates
    points_left_out: int  # beyond MAP_MAX_POINTS


def map_scopes(user: User, map_roles: tuple[str, ...]) -> list[str]:
    """The org units whose grids and cases the user sees on the map (policy.toml [map])."""
    return [m.scope_key for m in user.memberships if m.role in map_roles and not m.scope_key.startswith("dept:")]


def case_map(session: Session, rt: Runtime, user: User, f: CaseFilter, *, now: datetime) -> CaseMap:
    """The map of the user's units for filter F; the period defaults to the last MAP_PERIOD_DAYS days."""
    today = now.astimezone(rt.calendar.tz).date()
    f = replace(f, created_to=f.created_to or today,
                created_from=f.created_from or (f.created_to or today) - timedelta(days=int(rt.settings["MAP_PERIOD_DAYS"]) - 1))
    scopes = map_scopes(user, rt.policy.map_roles)
    in_scope = or_(*[under(Case.scope_path, s) for s in scopes]) if scopes else false()
    late = or_(Case.overdue.is_(True), and_(Case.status == "open", Case.due_at <= now))
    is_late = when((late, 1), else_=0)
    has_point = and_(Case.lat.is_not(None), Case.lng.is_not(None))
    cases = apply_filter(session, rt, select(Case).where(in_scope), f, now=now)
    # One pass over the period's cases (from ix_case_map alone when no filter needs more): per grid,
    # how many, how many late, how many with a point.
    counts, with_point = {}, 0
    for grid_id, n, n_late, n_point in session.execute(cases.with_only_columns(
            Case.grid_id, func.count(), func.sum(is_late), func.sum(when((has_point, 1), else_=0)))
            .group_by(Case.grid_id)):
        counts[grid_id] = (int(n), int(n_late or 0))
        with_point += int(n_point or 0)
    features = [_grid_feature(unit, *counts.get(unit.id, (0, 0))) for unit in _grids(session, scopes)
                if unit.geometry or unit.bbox]
    limit = int(rt.settings["MAP_MAX_POINTS"])
    state = when((late, "overdue"), (and_(Case.status == "open", Case.at_risk.is_(True)), "at_risk"), else_="on_time")
    rows = session.execute(
        cases.where(has_point).join(Category, Category.id == Case.category_id)
        .with_only_columns(Case.code, Case.lat, Case.lng, Case.status, Case.stage, state, Category.name,
                           Category.name_en, Case.address)
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(limit)).all()
    features += [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [lng, lat]},
                  "properties": {"kind": "case", "code": code, "status": status, "stage": stage, "sla": sla,
                                 "category": name, "category_en": name_en or name, "address": address}}
                 for code, lat, lng, status, stage, sla, name, name_en, address in rows]
    total = sum(n for n, _ in counts.values())
    return CaseMap({"type": "FeatureCollection", "features": features}, (f.created_from, f.created_to),
                   total, sum(n for _, n in counts.values()), total - with_point, max(with_point - len(rows), 0))


def report_area(session: Session, user: User, policy) -> dict[str, Any]:
    """The grids the user may report in, as GeoJSON polygons (the report page's point picker)."""
    scopes = [m.scope_key for m in user.memberships
              if m.role in reporter_roles(policy) and not m.scope_key.startswith("dept:")]
    return {"type": "FeatureCollection",
            "features": [_grid_feature(u) for u in _grids(session, scopes) if u.geometry or u.bbox]}


def grid_of_point(session: Session, lat: Any, lng: Any, coord_system: str | None) -> dict[str, Any]:
    """The grid covering a point given in COORD_SYSTEM, and the point as WGS-84; InputError
    (OutsideGrids, naming the point) when no grid covers it."""
    lat, lng = wgs84_point(lat, lng, coord_system)
    unit = session.scalars(select(OrgUnit).where(OrgUnit.code == place_point(session, lat, lng))).one()
    return {"code": unit.code, "name": unit.name, "name_en": unit.name_en or unit.name, "lat": lat, "lng": lng}


def _grids(session: Session, scopes: list[str]) -> list[OrgUnit]:
    if not scopes:
        return []
    return list(session.scalars(select(OrgUnit).where(
        OrgUnit.level == "grid", OrgUnit.active.is_(True),
        or_(*[OrgUnit.path.startswith(s, autoescape=True) for s in scopes])).order_by(OrgUnit.code)))


def _grid_feature(unit: OrgUnit, cases: int = 0, overdue: int = 0) -> dict[str, Any]:
    geometry = unit.geometry
    if geometry is None and isinstance(unit.bbox, list) and len(unit.bbox) == 4:
        west, south, east, north = unit.bbox
        geometry = {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                        [west, north], [west, south]]]}
    return {"type": "Feature", "geometry": geometry,
            "properties": {"kind": "grid", "code": unit.code, "name": unit.name, "name_en": unit.name_en or unit.name,
                           "cases": cases, "overdue": overdue,
                           "overdue_rate": round(overdue / cases, 4) if cases else 0.0}}
