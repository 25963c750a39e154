"""Read a city folder into plain data, checking every rule first and reporting all problems at once."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from models import ROLES

from engine.access.org import check_department_code, check_org_code
from engine.process.policy import Policy, load_policy
from engine.city.sheets import BOUNDARY_FILES, Problem, Row, read_sheet

LEVELS = ("city", "district", "street", "community", "grid")
PARENT_LEVEL = {"district": ("city", ""), "street": ("district",), "community": ("street",), "grid": ("community",)}
AREA_TYPES = ("core", "fringe")
DEPARTMENT_LEVELS = ("city", "district", "street")
KINDS = ("event", "component")
LOCALES = ("zh", "en")
TRUE, FALSE = ("true", "yes", "1", "是"), ("false", "no", "0", "否", "")
TWO_DIGITS = re.compile(r"^\d\d$")
USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass
class City:
    """A city as its files describe it, keyed by code (org units in tree order)."""

    units: dict[str, dict] = field(default_factory=dict)
    departments: dict[str, dict] = field(default_factory=dict)
    categories: dict[str, dict] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)

    def path(self, code: str) -> str:
        """The scope key of an org unit: the codes from the top of the tree down, each ending in '/'."""
        unit = self.units[code]
        return (self.path(unit["parent"]) if unit["parent"] else "") + code + "/"


class CityError(Exception):
    """The city's files break rules; nothing was written. ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in the city's files")
        self.problems = problems


def read_city(folder: Path, grid_code_length: int, processes_dir: Path | None = None,
              overlap_tolerance: float = 0.01) -> City:
    """Parse and check the city in FOLDER; raise CityError listing every problem found."""
    from engine.city.geometry import check_boundaries
    from engine.city.decisions import check_decisions

    folder = Path(folder)
    problems: list[Problem] = []
    city = City()
    unit_rows = _read_units(folder, city, grid_code_length, problems)
    check_boundaries(folder, city, unit_rows, overlap_tolerance, problems)
    _read_departments(folder, city, problems)
    category_rows = _read_categories(folder, city, problems)
    policy = load_policy(processes_dir) if processes_dir is not None else None
    _read_users(folder, city, policy, problems)
    if processes_dir is not None:
        check_decisions(Path(processes_dir), city, category_rows, problems)
    if problems:
        raise CityError(problems)
    return city


def _unique(row: Row, column: str, seen: dict, problems: list[Problem]) -> bool:
    key = row[column]
    if not key:
        problems.append(row.problem(column, "must not be empty"))
        return False
    if key in seen:
        problems.append(row.problem(column, f"{key} is already on row {seen[key]}"))
        return False
    seen[key] = row.number
    return True


def _required(row: Row, columns: tuple[str, ...], problems: list[Problem]) -> None:
    for column in columns:
        if not row[column]:
            problems.append(row.problem(column, "must not be empty"))


def _one_of(row: Row, column: str, allowed: tuple[str, ...], problems: list[Problem]) -> None:
    if row[column] not in allowed:
        problems.append(row.problem(column, f"{row[column]!r} is not one of {', '.join(a for a in allowed if a)}"))


def _read_units(folder, city, grid_code_length, problems) -> dict[str, Row]:
    rows = read_sheet(folder, "org_units", problems)
    seen: dict[str, int] = {}
    by_code = {}
    for row in rows:
        if _unique(row, "code", seen, problems):
            by_code[row["code"]] = row
    # Tree order: a parent is added before its children, whatever the order of the rows.
    for level in LEVELS:
        for code, row in by_code.items():
            if row["level"] != level:
                continue
            parent = row["parent"]
            ok = True
            if parent:
                parent_row = by_code.get(parent)
                if parent_row is None:
                    problems.append(row.problem("parent", f"org unit {parent} is not in org_units"))
                    ok = False
                elif parent_row["level"] not in PARENT_LEVEL.get(level, ()):
                    problems.append(row.problem("parent", f"a {level} cannot sit under a {parent_row['level']}"))
                    ok = False
                elif parent not in city.units:
                    ok = False  # the parent itself is broken and already reported
            elif "" not in PARENT_LEVEL.get(level, ("",)):
                problems.append(row.problem("parent", f"a {level} needs a parent"))
                ok = False
            if problem := check_org_code(level, code, parent or None, grid_code_length):
                problems.append(row.problem("code", problem))
                ok = False
            _required(row, ("name",), problems)
            area = row["area_type"] or (city.units[parent]["area_type"] if ok and parent else "core")
            if area not in AREA_TYPES:
                problems.append(row.problem("area_type", f"{area!r} is not one of {', '.join(AREA_TYPES)}"))
            if ok:
                city.units[code] = {"code": code, "level": level, "name": row["name"], "name_en": row["name_en"],
                                    "parent": parent or None, "area_type": area, "geometry": None,
                                    "bbox": None, "lat": None, "lng": None}
    for code, row in by_code.items():
        if row["level"] not in LEVELS:
            problems.append(row.problem("level", f"{row['level']!r} is not one of {', '.join(LEVELS)}"))
    return by_code


def _read_departments(folder, city, problems) -> None:
    seen: dict[str, int] = {}
    for row in read_sheet(folder, "departments", problems):
        if _unique(row, "code", seen, problems):
            city.departments[row["code"]] = check_department(row, problems)


def check_department(row: Row, problems: list[Problem]) -> dict:
    """Check one department row (code shape, name, level); return the department it describes."""
    if problem := check_department_code(row["code"]):
        problems.append(row.problem("code", problem))
    _required(row, ("name",), problems)
    level = row["level"] or "district"
    if level not in DEPARTMENT_LEVELS:
        problems.append(row.problem("level", f"{level!r} is not one of {', '.join(DEPARTMENT_LEVELS)}"))
    return {"code": row["code"], "name": row["name"], "name_en": row["name_en"], "level": level}


def _read_categories(folder, city, problems) -> dict[str, Row]:
    seen: dict[str, int] = {}
    rows = {}
    majors: dict[tuple[str, str], tuple[str, int]] = {}
    for row in read_sheet(folder, "categories", problems):
        if not _unique(row, "code", seen, problems):
            continue
        rows[row["code"]] = row
        city.categories[row["code"]] = check_category(row, city, majors, problems)
    return rows


def check_category(row: Row, city: City, majors: dict[tuple[str, str], tuple[str, int | str]],
                   problems: list[Problem]) -> dict:
    """Check one category row: kind, 2-digit codes that end its code, one name per 大类 (``majors``
    holds the names seen so far), the emergency flag, a known default department."""
    _one_of(row, "kind", KINDS, problems)
    _required(row, ("major_name", "name"), problems)
    for column in ("major_code", "minor_code"):
        if not TWO_DIGITS.match(row[column]):
            problems.append(row.problem(column, "must be 2 digits (大类 and 小类 codes are 2 digits each)"))
    if not row["code"].endswith(row["major_code"] + row["minor_code"]):
        problems.append(row.problem("code", "must end with its 大类 and 小类 codes"))
    first = majors.setdefault((row["kind"], row["major_code"]), (row["major_name"], row.number))
    if first[0] != row["major_name"]:
        problems.append(row.problem("major_name", f"大类 {row['major_code']} is called {first[0]!r} on row {first[1]}"))
    flag = row["emergency"].lower()
    if flag not in TRUE + FALSE:
        problems.append(row.problem("emergency", "must be true or false"))
    department = row["default_department"] or None
    if department and department not in city.departments:
        problems.append(row.problem("default_department", f"department {department} is not in departments"))
    return {"code": row["code"], "kind": row["kind"], "major_code": row["major_code"],
            "major_name": row["major_name"], "major_name_en": row["major_name_en"],
            "minor_code": row["minor_code"], "name": row["name"], "name_en": row["name_en"],
            "emergency": flag in TRUE, "default_department": department}


def _read_users(folder, city, policy: Policy | None, problems) -> None:
    seen: dict[str, int] = {}
    for row in read_sheet(folder, "users", problems):
        if _unique(row, "username", seen, problems):
            city.users[row["username"]] = check_user(row, problems)
    held: dict[tuple, int] = {}
    for row in read_sheet(folder, "memberships", problems):
        user = city.users.get(row["username"])
        if user is None:
            problems.append(row.problem("username", f"user {row['username']!r} is not in users"))
        scope = check_membership(row, city, policy, problems)
        if scope is None:
            continue
        key = (row["username"], row["role"], scope)
        if key in held:
            problems.append(row.problem("role", f"the same membership is already on row {held[key]}"))
            continue
        held[key] = row.number
        if user is not None:
            user["memberships"].append((row["role"], *scope))


def check_user(row: Row, problems: list[Problem]) -> dict:
    """Check one user row (username shape, name, locale); return the user it describes."""
    if not USERNAME.match(row["username"]):
        problems.append(row.problem("username", "may hold only letters, digits, '_', '.' and '-'"))
    _required(row, ("name",), problems)
    locale = row["locale"] or "zh"
    if locale not in LOCALES:
        problems.append(row.problem("locale", f"{locale!r} is not one of {', '.join(LOCALES)}"))
    return {"username": row["username"], "name": row["name"], "locale": locale, "memberships": []}


def check_membership(row: Row, city: City, policy: Policy | None, problems: list[Problem]) -> tuple | None:
    """Check one membership row: a known role on exactly one existing unit or department, at a
    kind of unit the policy lets that role sit on. Return its scope, ("unit"|"dept", code), or None."""
    _one_of(row, "role", ROLES, problems)
    unit, department = row["org_unit"], row["department"]
    if bool(unit) == bool(department):
        problems.append(row.problem("org_unit", "give either an org unit or a department, not both or neither"))
        return None
    if unit and unit not in city.units:
        problems.append(row.problem("org_unit", f"org unit {unit} is not in org_units"))
        return None
    if department and department not in city.departments:
        problems.append(row.problem("department", f"department {department} is not in departments"))
        return None
    kind = city.units[unit]["level"] if unit else "department"
    if policy is not None and row["role"] in ROLES and not policy.may_hold(row["role"], kind):
        where = ", ".join(policy.held_at[row["role"]])
        problems.append(row.problem("org_unit" if unit else "department",
                                    f"role {row['role']} cannot be held at a {kind} (policy.toml "
                                    f"roles.held_at: {where})"))
        return None
    return ("unit", unit) if unit else ("dept", department)


def boundary_json(folder: Path, level: str, problems: list[Problem]) -> list[dict] | None:
    """The features of a level's GeoJSON file, or None when the (optional) file is absent."""
    path = folder / BOUNDARY_FILES[level]
    if not path.exists():
        if level == "grid":
            problems.append(Problem(path.name, None, None, "grid boundaries are missing"))
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        problems.append(Problem(path.name, None, None, f"is not valid JSON: {exc}"))
        return None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        problems.append(Problem(path.name, None, None, "must be a GeoJSON FeatureCollection"))
        return None
    return data.get("features") or []
