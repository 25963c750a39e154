"""Bring the database's city in line with a read City: add, update, deactivate; never delete."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.accounts import hash_password
from engine.access.initial import NO_PASSWORD, InitialCodes
from engine.city.read import City
from models import Category, Department, Membership, OrgUnit, User

UNIT_FIELDS = ("name", "name_en", "level", "area_type", "geometry", "bbox", "lat", "lng")
DEPARTMENT_FIELDS = ("name", "name_en", "level")
CATEGORY_FIELDS = ("kind", "major_code", "major_name", "major_name_en", "minor_code", "name", "name_en",
                   "emergency", "default_department")
USER_FIELDS = ("name", "locale")


@dataclass
class ImportResult:
    """What an import changed (or, in a dry run, would change), and the new users' initial codes
    (``passwords``: username → code, each usable once to choose a password, until ``codes_expire``)."""

    changes: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    codes_expire: datetime | None = None


def sync_city(session: Session, city: City, *, write: bool, codes: InitialCodes | None = None,
              shared_password: str | None = None) -> ImportResult:
    """Compare CITY with the database and, when WRITE, apply the difference (the caller commits).

    New users get an initial code from ``codes`` (needed to write any), or ``shared_password``."""
    with session.no_autoflush:
        return _sync(session, city, write, codes, shared_password)


def _sync(session: Session, city: City, write: bool, codes: InitialCodes | None,
          shared_password: str | None) -> ImportResult:
    result = ImportResult(codes_expire=codes.expires_at if codes and shared_password is None else None)
    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    for code, spec in city.units.items():
        wanted = {**{f: spec[f] for f in UNIT_FIELDS}, "parent_id": None, "path": city.path(code)}
        unit = units.get(code)
        parent = units.get(spec["parent"]) if spec["parent"] else None
        if unit is None:
            result.changes.append(f"add org unit {code} {spec['name']}")
            if write:
                wanted.pop("parent_id")
                unit = units[code] = OrgUnit(code=code, parent=parent, active=True, **wanted)
                session.add(unit)
            continue
        if write and parent is not None and parent.id is None:
            session.flush()  # a new parent of an existing unit (a city added above its district)
        wanted["parent_id"] = parent.id if parent is not None else None
        _update(result, f"org unit {code}", unit, wanted, write)
    _deactivate(result, "org unit", units, city.units, write)
    _sync_simple(session, result, Department, "department", city.departments, DEPARTMENT_FIELDS, write)
    _sync_simple(session, result, Category, "category", city.categories, CATEGORY_FIELDS, write)
    if write:
        session.flush()  # new units and departments get their ids and paths before memberships name them
    _sync_users(session, result, city, write, codes, shared_password)
    result.counts = {"org units": len(city.units), "departments": len(city.departments),
                     "categories": len(city.categories), "users": len(city.users)}
    return result


def _update(result: ImportResult, label: str, row, wanted: dict, write: bool) -> None:
    changed = [f for f, v in wanted.items() if getattr(row, f) != v]
    if not row.active:
        result.changes.append(f"reactivate {label}")
    if changed:
        shown = [f for f in changed if f not in ("parent_id", "geometry", "bbox", "lat", "lng")]
        detail = "; ".join(f"{f}: {getattr(row, f)!r} → {wanted[f]!r}" for f in shown)
        if len(shown) < len(changed):
            detail = "; ".join(filter(None, (detail, "boundary" if "geometry" in changed else "position")))
        result.changes.append(f"update {label}: {detail}")
    if write:
        for f in changed:
            setattr(row, f, wanted[f])
        row.active = True


def _deactivate(result: ImportResult, label: str, existing: dict, wanted: dict, write: bool) -> None:
    for key, row in sorted(existing.items()):
        if key not in wanted and row.active:
            result.changes.append(f"deactivate {label} {key}")
            if write:
                row.active = False


def _sync_simple(session, result, model, label, specs: dict, fields: tuple[str, ...], write: bool) -> None:
    existing = {r.code: r for r in session.scalars(select(model))}
    for code, spec in specs.items():
        row = existing.get(code)
        wanted = {f: spec[f] for f in fields}
        if row is None:
            result.changes.append(f"add {label} {code} {spec['name']}")
            if write:
                session.add(model(code=code, active=True, **wanted))
        else:
            _update(result, f"{label} {code}", row, wanted, write)
    _deactivate(result, label, existing, specs, write)


def _sync_users(session, result, city: City, write: bool, codes: InitialCodes | None,
                shared_password: str | None) -> None:
    existing = {u.username: u for u in session.scalars(select(User))}
    shared_hash = _shared_hash(shared_password) if shared_password is not None and write else None
    for username, spec in city.users.items():
        # A dict keeps the sheet's order: new memberships are added as listed.
        scopes = dict.fromkeys((role, _scope_key(city, kind, code)) for role, kind, code in spec["memberships"])
        user = existing.get(username)
        if user is None:
            result.changes.append(f"add user {username} {spec['name']}")
            if not write:
                continue
            user = User(username=username, name=spec["name"], locale=spec["locale"], active=True,
                        password_hash=shared_hash or NO_PASSWORD)
            user.memberships = [Membership(role=r, scope_key=s) for r, s in scopes]
            session.add(user)
            if shared_hash is None:  # no password until they choose one with this code, once
                if codes is None:
                    raise ValueError("new users need InitialCodes (or a shared demo password)")
                result.passwords[username], link = codes.issue(user)
                session.add(link)
            continue
        _update(result, f"user {username}", user, {f: spec[f] for f in USER_FIELDS}, write)
        held = {(m.role, m.scope_key): m for m in user.memberships}
        for role, scope in [k for k in scopes if k not in held]:
            result.changes.append(f"user {username}: add role {role} in {scope}")
            if write:
                user.memberships.append(Membership(role=role, scope_key=scope))
        for key in [k for k in held if k not in scopes]:
            result.changes.append(f"user {username}: remove role {key[0]} in {key[1]}")
            if write:
                user.memberships.remove(held[key])
                session.delete(held[key])
    _deactivate(result, "user", existing, city.users, write)


@lru_cache(maxsize=4)
def _shared_hash(password: str) -> str:
    # A shared (demo) password is public anyway; hashing it once per process keeps the test
    # suite, which loads the demo city hundreds of times, from spending its time in scrypt.
    return hash_password(password)


def _scope_key(city: City, kind: str, code: str) -> str:
    return city.path(code) if kind == "unit" else f"dept:{code}"
