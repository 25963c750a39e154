"""What anyone may see of a case without its reporter's secret: which cases are public at all
(PUBLIC_SOURCES), how precisely their place is shown (PUBLIC_LOCATION,
PUBLIC_COORDINATE_DECIMALS) and whether the reporter's words are (PUBLIC_SHOW_DESCRIPTION).

Case codes are sequential, so anything shown without the secret can be collected for every
case by counting codes; these settings decide what such a walk could gather.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models import Case, Department, OrgUnit

from engine.settings import SettingsError

# "address" shows the reporter's address and point; the others name the unit of that level.
LOCATION_LEVELS = ("address", "grid", "community", "street")


@dataclass(frozen=True)
class Exposure:
    sources: frozenset[str]   # cases from other sources (patrol, video, ...) are internal
    location: str             # one of LOCATION_LEVELS
    decimals: int             # coordinates are rounded to this many decimal places
    description: bool


@dataclass(frozen=True)
class Place:
    """Where a case is, as precisely as the viewer may know."""

    text: str
    unit_code: str
    lat: float | None
    lng: float | None


@dataclass
class Known:
    """The org units on the cases' paths and their departments, read once for a whole list
    (Open311's requests), so that describing each case asks the database nothing more; and the
    exposure settings, read once rather than for each of a thousand cases."""

    units: dict[str, OrgUnit] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    seen: Exposure | None = None


def prefetch(session: Session, cases: Iterable[Case], seen: Exposure | None = None) -> Known:
    """Read in two queries the org units and departments that ``cases`` name."""
    cases = list(cases)
    codes = {c for case in cases for c in case.scope_path.split("/") if c}
    depts = {case.department_code for case in cases if case.department_code}
    units = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes)))} if codes else {}
    departments = {d.code: d for d in session.scalars(select(Department).where(Department.code.in_(depts)))} \
        if depts else {}
    return Known(units, departments, seen)


def exposure(settings: dict) -> Exposure:
    """Read the public-exposure settings; raise SettingsError naming a bad one."""
    sources = settings.get("PUBLIC_SOURCES", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise SettingsError('PUBLIC_SOURCES: a list of case sources, e.g. ["hotline", "app", "web", "open311"]')
    location = settings.get("PUBLIC_LOCATION", "community")
    if location not in LOCATION_LEVELS:
        raise SettingsError(f"PUBLIC_LOCATION: one of {', '.join(LOCATION_LEVELS)}, not {location!r}")
    decimals = settings.get("PUBLIC_COORDINATE_DECIMALS", 2)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 7:
        raise SettingsError("PUBLIC_COORDINATE_DECIMALS: a whole number from 0 to 7 (2 is about 1 km)")
    return Exposure(frozenset(sources), location, decimals, bool(settings.get("PUBLIC_SHOW_DESCRIPTION")))


def public_only(query: Select, seen: Exposure) -> Select:
    """Restrict a query over cases to those the public may see."""
    return query.where(Case.source.in_(sorted(seen.sources)))


def is_public(case: Case, seen: Exposure) -> bool:
    return case.source in seen.sources


def place(session: Session, case: Case, seen: Exposure | None, known: Known | None = None) -> Place:
    """Where the case is: exactly for its reporter (``seen`` None), else as the settings allow."""
    if seen is None or seen.location == "address":
        return Place(case.address, case.grid.code, case.lat, case.lng)
    rounded = lambda v: round(v, seen.decimals) if v is not None else None
    unit = case.grid if seen.location == "grid" else ancestor(session, case, seen.location, known)
    return Place(unit.name if unit else "", unit.code if unit else "", rounded(case.lat), rounded(case.lng))


def ancestor(session: Session, case: Case, level: str, known: Known | None = None) -> OrgUnit | None:
    """The unit of ``level`` above the case's grid (the scope path lists their codes)."""
    codes = [c for c in case.scope_path.split("/") if c]
    if known is not None:
        return next((known.units[c] for c in codes if c in known.units and known.units[c].level == level), None)
    return session.scalars(select(OrgUnit).where(OrgUnit.code.in_(codes), OrgUnit.level == level)).first()
