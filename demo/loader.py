"""Load the demo city (engine/demo_city.py) into an empty database."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Category, Department, Membership, OrgUnit, User

from demo import city as demo_city
from engine.access.accounts import hash_password
from engine.errors import InputError
from engine.access.org import check_department_code, check_org_code


@dataclass
class DemoSummary:
    org_units: dict[str, int]
    departments: int
    categories: int
    users: int
    password: str


def add_org_unit(session: Session, *, code: str, name: str, name_en: str, level: str,
                 parent: OrgUnit | None, grid_code_length: int, **extra) -> OrgUnit:
    """Add one org unit after checking its code's shape against its level and parent."""
    problem = check_org_code(level, code, parent.code if parent else None, grid_code_length)
    if problem:
        raise InputError({"code": [f"{code}: {problem}"]})
    unit = OrgUnit(code=code, name=name, name_en=name_en, level=level, parent=parent,
                   path=(parent.path if parent else "") + code + "/", **extra)
    session.add(unit)
    return unit


def load_demo_city(session: Session, grid_code_length: int = 15) -> DemoSummary:
    """Insert the demo org tree, departments, categories and users; return what was added."""
    d = demo_city
    city = add_org_unit(session, level="city", parent=None, grid_code_length=grid_code_length, **d.CITY)
    district = add_org_unit(session, level="district", parent=city, grid_code_length=grid_code_length,
                            **d.DISTRICT)
    units = {city.code: city, district.code: district}
    for street in d.STREETS:
        units[street["code"]] = add_org_unit(
            session, level="street", parent=district, grid_code_length=grid_code_length,
            code=street["code"], name=street["name"], name_en=street["name_en"],
            area_type=street.get("area_type", "core"))
    for comm in d.COMMUNITIES:
        parent = units[comm["street"]]
        units[comm["code"]] = add_org_unit(
            session, level="community", parent=parent, grid_code_length=grid_code_length,
            code=comm["code"], name=comm["name"], name_en=comm["name_en"], area_type=parent.area_type)
    for grid in d.GRIDS:
        parent = units[grid["community"]]
        units[grid["code"]] = add_org_unit(
            session, level="grid", parent=parent, grid_code_length=grid_code_length,
            code=grid["code"], name=grid["name"], name_en=grid["name_en"], area_type=parent.area_type,
            lat=grid.get("lat"), lng=grid.get("lng"), bbox=list(grid["bbox"]) if grid.get("bbox") else None)
    for dept in d.DEPARTMENTS:
        problem = check_department_code(dept["code"])
        if problem:
            raise InputError({"code": [f"{dept['code']}: {problem}"]})
        session.add(Department(code=dept["code"], name=dept["name"], name_en=dept["name_en"],
                               level=dept.get("level", "district")))
    for cat in d.CATEGORIES:
        session.add(Category(**{k: cat[k] for k in (
            "code", "kind", "major_code", "major_name", "major_name_en", "minor_code", "name", "name_en",
            "emergency", "default_department")}))
    password_hash = hash_password(d.DEMO_PASSWORD)
    for spec in d.USERS:
        user = User(username=spec["username"], name=spec["name"], password_hash=password_hash,
                    locale=spec.get("locale", "zh"))
        for role, scope in spec["memberships"]:
            key = scope if scope.startswith("dept:") else units[scope].path
            user.memberships.append(Membership(role=role, scope_key=key))
        session.add(user)
    session.flush()
    levels = dict(session.execute(select(OrgUnit.level, func.count()).group_by(OrgUnit.level)).all())
    return DemoSummary(org_units=levels, departments=len(d.DEPARTMENTS), categories=len(d.CATEGORIES),
                       users=len(d.USERS), password=d.DEMO_PASSWORD)
