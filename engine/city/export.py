"""Write the database's active city as a folder in the import format."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.city.sheets import BOUNDARY_FILES, write_sheet
from models import Category, Department, OrgUnit, User


def export_city(session: Session, folder: Path) -> list[str]:
    """Write the sheets and boundary files of the active city into FOLDER; return the file names.

    Rows come in the order they were added, so that a city exported and imported again keeps it.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    units = list(session.scalars(select(OrgUnit).where(OrgUnit.active).order_by(OrgUnit.id)))
    by_path = {u.path: u for u in units}
    write_sheet(folder, "org_units", [
        {"code": u.code, "level": u.level, "name": u.name, "name_en": u.name_en,
         "parent": u.parent.code if u.parent else "", "area_type": u.area_type} for u in units])
    departments = list(session.scalars(select(Department).where(Department.active).order_by(Department.id)))
    write_sheet(folder, "departments", [
        {"code": d.code, "name": d.name, "name_en": d.name_en, "level": d.level} for d in departments])
    known = {d.code for d in departments}
    write_sheet(folder, "categories", [
        {"code": c.code, "kind": c.kind, "major_code": c.major_code, "major_name": c.major_name,
         "major_name_en": c.major_name_en, "minor_code": c.minor_code, "name": c.name, "name_en": c.name_en,
         "emergency": "true" if c.emergency else "false", "default_department": c.default_department or ""}
        for c in session.scalars(select(Category).where(Category.active).order_by(Category.id))])
    users = list(session.scalars(select(User).where(User.active).order_by(User.id)))
    write_sheet(folder, "users", [{"username": u.username, "name": u.name, "locale": u.locale} for u in users])
    memberships = []
    for user in users:
        for m in sorted(user.memberships, key=lambda m: m.id):
            if m.scope_key.startswith("dept:"):
                if m.scope_key[5:] in known:
                    memberships.append({"username": user.username, "role": m.role, "department": m.scope_key[5:]})
            elif m.scope_key in by_path:
                memberships.append({"username": user.username, "role": m.role, "org_unit": by_path[m.scope_key].code})
    write_sheet(folder, "memberships", memberships)
    written = [f"{name}.csv" for name in ("org_units", "departments", "categories", "users", "memberships")]
    for level, name in BOUNDARY_FILES.items():
        features = [{"type": "Feature", "properties": {"code": u.code, "name": u.name}, "geometry": u.geometry}
                    for u in units if u.level == level and u.geometry]
        if features or level == "grid":
            # One feature a line: a changed boundary shows as a one-line diff.
            lines = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
            (folder / name).write_text('{"type": "FeatureCollection", "features": [\n' + lines + "\n]}\n",
                                       encoding="utf-8")
            written.append(name)
    return written
