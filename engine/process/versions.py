"""The deployed versions of a process as the studio shows them: who, when, hash and note, the
cases that run on each, their files (to download or to write back to a folder)."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import case as when, func, select
from sqlalchemy.orm import Session, undefer

from models import Case, ProcessDraft, ProcessVersion

from engine.errors import Message, NotFound
from engine.process.scenarios import is_scenario_file


@dataclass(frozen=True)
class VersionSummary:
    id: int
    key: str
    version: int
    content_hash: str
    deployed_at: datetime
    deployed_by: str | None
    note: str | None
    open_cases: int
    all_cases: int
    current: bool


@dataclass(frozen=True)
class VersionCases:
    version: ProcessVersion
    cases: list[Case]   # open ones first, newest first; at most ``limit``
    open_cases: int
    all_cases: int


@dataclass(frozen=True)
class Overview:
    versions: list[VersionSummary]
    drafts: list[ProcessDraft]   # not yet deployed, newest first


def overview(session: Session, key: str) -> Overview:
    """The studio's front page: every version with its cases, and the drafts in progress."""
    drafts = list(session.scalars(select(ProcessDraft).where(ProcessDraft.key == key,
                                                             ProcessDraft.deployed_version_id.is_(None))
                                  .order_by(ProcessDraft.saved_at.desc(), ProcessDraft.id.desc()).limit(50)))
    return Overview(versions(session, key), drafts)


def versions(session: Session, key: str) -> list[VersionSummary]:
    """Every deployed version of ``key``, newest first, with how many cases run on it."""
    counts = dict((row[0], (row[1], row[2])) for row in session.execute(
        select(Case.process_version_id, func.count(),
               func.sum(when((Case.status == "open", 1), else_=0)))
        .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
        .where(ProcessVersion.key == key).group_by(Case.process_version_id)))
    rows = list(session.scalars(select(ProcessVersion).where(ProcessVersion.key == key)
                                .order_by(ProcessVersion.version.desc())))
    return [VersionSummary(v.id, v.key, v.version, v.content_hash, v.deployed_at, v.deployed_by, v.note,
                           int(counts.get(v.id, (0, 0))[1] or 0), int(counts.get(v.id, (0, 0))[0]),
                           current=i == 0)
            for i, v in enumerate(rows)]


def version_row(session: Session, key: str, version: int) -> ProcessVersion:
    """The deployed version with its files loaded; NotFound when there is none."""
    row = session.scalars(select(ProcessVersion).options(undefer(ProcessVersion.source_files))
                          .where(ProcessVersion.key == key, ProcessVersion.version == version)).first()
    if row is None:
        raise NotFound(Message("{key} has no version {version}", key=key, version=version))
    return row


def version_cases(session: Session, key: str, version: int, limit: int = 200) -> VersionCases:
    """The cases that run on a version: open ones first, then the newest."""
    row = version_row(session, key, version)
    total, still_open = session.execute(
        select(func.count(), func.coalesce(func.sum(when((Case.status == "open", 1), else_=0)), 0))
        .where(Case.process_version_id == row.id)).one()
    cases = list(session.scalars(
        select(Case).where(Case.process_version_id == row.id)
        .order_by(when((Case.status == "open", 0), else_=1), Case.created_at.desc(), Case.id.desc()).limit(limit)))
    return VersionCases(row, cases, int(still_open), int(total))


def version_files(session: Session, key: str, version: int) -> dict[str, str]:
    return dict(version_row(session, key, version).source_files)


def version_archive(session: Session, key: str, version: int) -> bytes:
    """A zip of a deployed version's files, as a designer downloads it."""
    return archive(version_files(session, key, version))


def archive(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(name, files[name].encode("utf-8"))
    return buffer.getvalue()


def export(session: Session, key: str, version: int, folder: Path) -> list[Path]:
    """Write a deployed version's files into ``folder`` (made when missing), for the repository;
    its scenario files go into ``folder/scenarios/``."""
    files = version_files(session, key, version)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in sorted(files):
        if Path(name).name != name and not is_scenario_file(name):
            raise NotFound(Message("file name {name} is not a plain name", name=name))
        path = folder / name
        path.parent.mkdir(exist_ok=True)  # scenarios/
        path.write_text(files[name], encoding="utf-8")
        written.append(path)
    return written
