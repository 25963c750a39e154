"""Reference data integrators read: categories, the org tree, departments and deployed process versions."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, undefer

from models import Category, Department, OrgUnit, ProcessVersion

from engine.errors import NotFound


def categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.code)))


def org_units(session: Session, *, level: str | None = None, parent: str | None = None) -> list[OrgUnit]:
    """Org units in tree order (by path), optionally one level or the children of one unit."""
    query = select(OrgUnit).options(joinedload(OrgUnit.parent)).order_by(OrgUnit.path)
    if level:
        query = query.where(OrgUnit.level == level)
    if parent:
        parent_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == parent))
        if parent_id is None:
            raise NotFound(f"org unit {parent} does not exist")
        query = query.where(OrgUnit.parent_id == parent_id)
    return list(session.scalars(query))


def org_unit(session: Session, code: str) -> OrgUnit:
    unit = session.scalars(select(OrgUnit).where(OrgUnit.code == code)).first() if len(code) <= 32 else None
    if unit is None:
        raise NotFound(f"org unit {code} does not exist")
    return unit


def departments(session: Session, *, active_only: bool = False) -> list[Department]:
    """Departments by code; a picker offers only the active ones (old cases still name the others)."""
    query = select(Department).order_by(Department.code)
    if active_only:
        query = query.where(Department.active.is_(True))
    return list(session.scalars(query))


def process_versions(session: Session) -> list[ProcessVersion]:
    return list(session.scalars(select(ProcessVersion).order_by(ProcessVersion.key, ProcessVersion.version.desc())))


def process_version(session: Session, key: str, version: int) -> ProcessVersion:
    """One deployed version with its source files loaded."""
    row = session.scalars(select(ProcessVersion).options(undefer(ProcessVersion.source_files))
                          .where(ProcessVersion.key == key, ProcessVersion.version == version)).first() \
        if len(key) <= 100 and 0 < version < 2 ** 31 else None
    if row is None:
        raise NotFound(f"process {key} version {version} does not exist")
    return row


def process_file(session: Session, key: str, version: int, name: str) -> str:
    """The text of one BPMN or DMN file of a deployed version (for a diagram viewer)."""
    files = process_version(session, key, version).source_files
    if name not in files:
        raise NotFound(f"process {key} version {version} has no file {name}")
    return files[name]


def main_diagram(session: Session, process_version_id: int) -> str:
    """The BPMN text that declares a version's process (what a case of that version runs)."""
    row = session.scalars(select(ProcessVersion).options(undefer(ProcessVersion.source_files))
                          .where(ProcessVersion.id == process_version_id)).one()
    for name, text in (row.source_files or {}).items():
        if name.endswith(".bpmn") and f'id="{row.key}"' in text:
            return text
    raise NotFound(f"process {row.key} version {row.version} has no diagram declaring it")
