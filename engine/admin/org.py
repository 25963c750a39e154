"""Administering the city's reference data: org units (rename, area type, deactivate), departments
and categories (add, change, deactivate). Rows are checked by the city importer's own checks, and
categories against the decision tables as an import checks them (engine/city)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Category, Department, OrgUnit

from engine.admin.changes import record_change
from engine.admin.problems import raise_problems
from engine.admin.scope import admin_scope
from engine.city.decisions import check_decisions
from engine.city.read import AREA_TYPES, City, check_category, check_department
from engine.city.sheets import Problem, Row
from engine.city.sync import CATEGORY_FIELDS, DEPARTMENT_FIELDS
from engine.errors import InputError, Message, NotFound
from engine.runtime import Runtime

UNIT_FIELDS = ("name", "name_en", "area_type")


def _row(cells: dict) -> Row:
    return Row("form", 1, {k: _cell(v) for k, v in cells.items()})


def _cell(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return (value or "").strip() if isinstance(value, str) else ("" if value is None else str(value))


def _values(row, fields) -> dict:
    return {f: getattr(row, f) for f in fields} | {"active": row.active}


# -- org units -----------------------------------------------------------------------------------
def list_units(session: Session, rt: Runtime, actor) -> list[OrgUnit]:
    """The units of the actor's subtrees in tree order, deactivated ones too."""
    scope = admin_scope(session, rt, actor)
    return [u for u in session.scalars(select(OrgUnit).order_by(OrgUnit.path)) if scope.covers(u.path)]


def update_unit(session: Session, rt: Runtime, actor, code: str, *, name: str | None = None,
                name_en: str | None = None, area_type: str | None = None, active: bool | None = None) -> OrgUnit:
    """Rename a unit, set its area type (core/fringe, which sets its time limits), deactivate or
    reactivate it. A unit with active units under it cannot be deactivated; cases keep pointing at it."""
    scope = admin_scope(session, rt, actor)
    unit = session.scalars(select(OrgUnit).where(OrgUnit.code == str(code))).first() if len(str(code)) <= 32 else None
    if unit is None or not scope.covers(unit.path):
        raise NotFound(Message("no org unit {code} in your area", code=str(code)[:32]))
    before = _values(unit, UNIT_FIELDS)
    errors: dict[str, list] = {}
    wanted = {"name": unit.name if name is None else name.strip(),
              "name_en": unit.name_en if name_en is None else name_en.strip(),
              "area_type": unit.area_type if area_type is None else area_type.strip()}
    if not wanted["name"]:
        errors["name"] = [Message("must not be empty")]
    for f in ("name", "name_en"):
        if len(wanted[f]) > 100:
            errors[f] = [Message("At most {n} characters.", n=100)]
    if wanted["area_type"] not in AREA_TYPES:
        errors["area_type"] = [Message("{value!r} is not one of {choices}", value=wanted["area_type"],
                                       choices=", ".join(AREA_TYPES))]
    if active is False and unit.active:
        if unit.path in scope.paths:
            errors["active"] = [Message("you cannot deactivate the unit you administer")]
        children = session.scalars(select(OrgUnit.code).where(OrgUnit.parent_id == unit.id,
                                                              OrgUnit.active.is_(True)).limit(5)).all()
        if children:
            errors["active"] = [Message("deactivate the units under it first: {codes}", codes=", ".join(children))]
    if active is True and unit.parent is not None and not unit.parent.active:
        errors["active"] = [Message("reactivate {code} above it first", code=unit.parent.code)]
    if errors:
        raise InputError(errors)
    for f, v in wanted.items():
        setattr(unit, f, v)
    if active is not None:
        unit.active = active
    after = _values(unit, UNIT_FIELDS)
    if after != before:
        record_change(session, rt, actor, _action(before, after), "org_unit", unit.code, unit.path,
                      _diff(before, after)[0], _diff(before, after)[1])
        session.flush()
    return unit


# -- departments ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DepartmentPage:
    departments: list[Department]
    may_change: bool   # a street's administrator reads them only


def list_departments(session: Session, rt: Runtime, actor) -> DepartmentPage:
    scope = admin_scope(session, rt, actor)
    return DepartmentPage(list(session.scalars(select(Department).order_by(Department.code))), scope.top)


def save_department(session: Session, rt: Runtime, actor, code: str, values: dict, *, create: bool) -> Department:
    """Add a department (``create``) or change one: name, English name, level, active."""
    scope = admin_scope(session, rt, actor)
    scope.require_top()
    row = _department(session, code, create)
    before = _values(row, DEPARTMENT_FIELDS) if row is not None else None
    current = before or {"name": "", "name_en": "", "level": "district", "active": True}
    merged = {f: values.get(f, current[f]) for f in DEPARTMENT_FIELDS}
    problems: list[Problem] = []
    spec = check_department(_row({"code": code, **merged}), problems)
    active = values.get("active", current["active"])
    if active is False and row is not None and row.active:
        defaults = session.scalars(select(Category.code).where(Category.default_department == row.code,
                                                               Category.active.is_(True)).limit(5)).all()
        if defaults:
            problems.append(Problem("form", 1, "active", f"categories {', '.join(defaults)} name it as their "
                                                         f"default department; change them first"))
    raise_problems(problems)
    return _store(session, rt, actor, row or Department(code=spec["code"]), "department", spec, DEPARTMENT_FIELDS,
                  bool(active), before)


def _department(session: Session, code: str, create: bool) -> Department | None:
    row = session.scalars(select(Department).where(Department.code == str(code))).first() \
        if len(str(code)) <= 20 else None
    if create and row is not None:
        raise InputError({"code": [Message("A department with code {code} already exists.", code=code)]})
    if not create and row is None:
        raise NotFound(Message("no department {code}", code=str(code)[:20]))
    return row


# -- categories ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CategoryPage:
    categories: list[Category]
    departments: list[Department]   # the active ones, for the default department picker
    may_change: bool


def category_page(session: Session, rt: Runtime, actor) -> CategoryPage:
    """The catalogue with what its form offers; a street's administrator reads it only."""
    scope = admin_scope(session, rt, actor)
    departments = list(session.scalars(select(Department).where(Department.active.is_(True))
                                       .order_by(Department.code)))
    return CategoryPage(list(session.scalars(select(Category).order_by(Category.code))), departments, scope.top)


def save_category(session: Session, rt: Runtime, actor, code: str, values: dict, *, create: bool) -> Category:
    """Add a category (``create``) or change one: its 大类/小类 names, emergency flag, default
    department, active. Checked as the import checks a categories row, and against the decision
    tables in processes/: a new category must be routed and timed, one they name stays active."""
    scope = admin_scope(session, rt, actor)
    scope.require_top()
    row = session.scalars(select(Category).where(Category.code == str(code))).first() if len(str(code)) <= 8 else None
    if create and row is not None:
        raise InputError({"code": [Message("A category with code {code} already exists.", code=code)]})
    if not create and row is None:
        raise NotFound(Message("no category {code}", code=str(code)[:8]))
    before = _values(row, CATEGORY_FIELDS) if row is not None else None
    current = before or {f: "" for f in CATEGORY_FIELDS} | {"emergency": False, "default_department": None,
                                                           "active": True}
    merged = {f: values.get(f, current[f]) for f in CATEGORY_FIELDS}
    active = values.get("active", current["active"])
    others = [c for c in session.scalars(select(Category).where(Category.active.is_(True))) if c.code != code]
    city = City(departments={d: {} for d in session.scalars(select(Department.code)
                                                             .where(Department.active.is_(True)))})
    # 大类 names already in use, so that a new 小类 keeps its 大类's name.
    majors = {(c.kind, c.major_code): (c.major_name, f"category {c.code}") for c in others}
    problems: list[Problem] = []
    form = _row({"code": code, **merged})
    spec = check_category(form, city, majors, problems)
    if len(spec["code"]) > 8 or not spec["code"]:
        problems.append(Problem("form", 1, "code", "must be 1 to 8 characters"))
    city.categories = {c.code: {} for c in others}
    if active:
        city.categories[spec["code"]] = spec
    processes = Path(rt.settings["PROCESSES_DIR"])
    found: list[Problem] = []
    check_decisions(processes, city, {spec["code"]: form} if active else {}, found)
    # Only what this change causes: the new category unrouted, or a decision naming it once it is gone.
    problems += [p if p.file == "form" else Problem("form", 1, "active" if not create else "code",
                                                    f"{p.file} {p.row}: {p.rule}")
                 for p in found if p.file == "form" or spec["code"] in p.rule]
    raise_problems(problems)
    return _store(session, rt, actor, row or Category(code=spec["code"]), "category", spec, CATEGORY_FIELDS,
                  bool(active), before)


# -- shared --------------------------------------------------------------------------------------
def _store(session: Session, rt: Runtime, actor, row, kind: str, spec: dict, fields: tuple[str, ...], active: bool,
           before: dict | None):
    """Write a checked department or category (new when ``before`` is None) and log what changed."""
    if before is None:
        session.add(row)
    for f in fields:
        setattr(row, f, spec[f])
    row.active = active
    after = _values(row, fields)
    if after != before:
        old, new = _diff(before, after)
        record_change(session, rt, actor, _action(before, after), kind, row.code, "", old, new)
        session.flush()
    return row


def _action(before: dict | None, after: dict) -> str:
    if before is None:
        return "create"
    if before.get("active") and not after.get("active"):
        return "deactivate"
    if not before.get("active") and after.get("active"):
        return "reactivate"
    return "update"


def _diff(before: dict | None, after: dict) -> tuple[dict | None, dict]:
    """The fields that changed, old and new (everything new for a created record)."""
    if before is None:
        return None, after
    changed = [f for f in after if before.get(f) != after[f]]
    return {f: before.get(f) for f in changed}, {f: after[f] for f in changed}


__all__ = ["list_units", "update_unit", "list_departments", "save_department",
           "category_page", "save_category"]
