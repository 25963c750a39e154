"""The choices a form offers a user: what they may report (categories by 大类, their grids) and
what they may filter lists by (categories, and the areas of their scopes)."""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Category, OrgUnit, User

from engine.lifecycle.cases import SOURCES, reporter_roles
from engine.process.policy import Policy

FILTER_CACHE_SECONDS = 60.0  # a new category or area reaches the filter forms within this time
# Areas a list can be filtered by, with their indentation in the select.
_INDENT = {"street": 0, "community": 1, "grid": 2}


@dataclass(frozen=True)
class IntakeChoices:
    """What the report form offers: 大类 groups of 小类, the grids the user may report in, defaults."""

    majors: list[dict]
    grids: list[OrgUnit]
    defaults: dict[str, str]
    grid_groups: list[tuple[OrgUnit, list[OrgUnit]]]  # the grids by community, for the grid select
    is_worker: bool
    is_clerk: bool
    sources: list[str]


def intake_choices(session: Session, user: User, policy: Policy) -> IntakeChoices:
    """Return the report form's choices for ``user``; a grid worker's own grid comes preselected."""
    majors: dict[str, dict] = {}
    for c in session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code)):
        majors.setdefault(f"{c.kind}:{c.major_code}", {"code": c.code[:3], "kind": c.kind, "name": c.major_name,
                                                       "name_en": c.major_name_en, "items": []})["items"].append(c)
    scopes = [m.scope_key for m in user.memberships
              if m.role in reporter_roles(policy) and not m.scope_key.startswith("dept:")]
    grids = [u for u in session.scalars(select(OrgUnit).where(OrgUnit.level == "grid", OrgUnit.active.is_(True))
                                                .order_by(OrgUnit.code))
             if any(u.path.startswith(s) for s in scopes)]
    roles = {m.role for m in user.memberships}
    workers = set(policy.self_handling_roles)  # who reports what the patrol found (policy.toml)
    # Clerks record the channels other than the self-handling ones (the patrol).
    clerks = {r for c, listed in policy.channels.items() if c not in policy.self_handling_channels for r in listed}
    own = [m.scope_key for m in user.memberships if m.role in workers]
    default_grid = next((u.code for u in grids if u.path in own), grids[0].code if len(grids) == 1 else "")
    # A grid worker's reports come from the patrol; a clerk's most often from the hotline.
    defaults = {"urgency": "normal", "grid_code": default_grid,
                "source": policy.self_handling_channels[0] if roles & workers else "hotline"}
    communities = {u.id: u for u in session.scalars(select(OrgUnit).where(
        OrgUnit.id.in_({g.parent_id for g in grids}))).all()} if grids else {}
    groups: dict[int, list[OrgUnit]] = {}
    for grid in grids:
        groups.setdefault(grid.parent_id, []).append(grid)
    return IntakeChoices(majors=list(majors.values()), grids=grids, defaults=defaults,
                         grid_groups=[(communities[cid], members) for cid, members in groups.items() if cid in communities],
                         is_worker=bool(roles & workers), is_clerk=bool(roles & clerks),
                         sources=[s for s in SOURCES if s not in policy.self_handling_channels])


@dataclass(frozen=True)
class CategoryChoice:
    code: str
    name: str
    name_en: str
    major_name: str
    major_name_en: str


@dataclass(frozen=True)
class AreaChoice:
    code: str
    name: str
    name_en: str
    level: str
    path: str
    indent: int


@dataclass(frozen=True)
class FilterOptions:
    categories: list[CategoryChoice]
    units: list[AreaChoice]


def filter_options(session: Session, user: User, cache: dict | None = None) -> FilterOptions:
    """Return the filter form's choices: active categories, and the streets, communities and grids
    of the user's org scopes (all of them for department staff, who work across the district).

    ``cache`` (one per app) keeps the full lists for FILTER_CACHE_SECONDS; they are plain copies,
    so they outlive the session that read them.
    """
    cached = cache.get("filter_options") if cache is not None else None
    if cached is None or time.monotonic() - cached[0] >= FILTER_CACHE_SECONDS:
        categories = [CategoryChoice(c.code, c.name, c.name_en, c.major_name, c.major_name_en)
                      for c in session.scalars(select(Category).where(Category.active.is_(True))
                                               .order_by(Category.code))]
        units = [AreaChoice(u.code, u.name, u.name_en, u.level, u.path, _INDENT[u.level])
                 for u in session.scalars(select(OrgUnit).where(OrgUnit.level.in_(tuple(_INDENT)))
                                          .order_by(OrgUnit.path))]
        cached = (time.monotonic(), FilterOptions(categories, units))
        if cache is not None:
            cache["filter_options"] = cached
    options = cached[1]
    scopes = [m.scope_key for m in user.memberships if not m.scope_key.startswith("dept:")]
    if not scopes:
        return options
    units = [u for u in options.units if any(u.path.startswith(s) or s.startswith(u.path) for s in scopes)]
    return FilterOptions(options.categories, units)
