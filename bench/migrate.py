"""`gridflow bench migrate`: N cases in handling moved onto a new process version; cases per second."""
from __future__ import annotations

import time
from typing import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import sessionmaker, undefer

from models import Case, CaseMigration, ProcessVersion

from bench.common import delete_cases
from bench.timers import prepare_due_cases
from engine.lifecycle import migration
from engine.process import deploy as process_service
from engine.runtime import Runtime


def run_migrate(rt: Runtime, sessions: sessionmaker, n: int, echo: Callable[[str], None] = print,
                keep: bool = False) -> dict:
    """Time a dry run and a real run of moving N open cases to a version that renames a task."""
    key = rt.settings["CASE_PROCESS"]
    created = prepare_due_cases(rt, sessions, n)
    with sessions() as session:
        source = session.scalars(select(ProcessVersion).options(undefer(ProcessVersion.source_files))
                                 .where(ProcessVersion.key == key).order_by(ProcessVersion.version.desc())).first()
        files = dict(source.source_files)
        files["grid_case.bpmn"] = files["grid_case.bpmn"].replace('name="处置"', 'name="处置（基准）"', 1)
        target = process_service.deploy(session, rt, files, key, deployed_by="bench", note="bench migrate").version
        session.commit()
        source_version, target_version, target_id = source.version, target.version, target.id
        on_source = session.scalar(select(func.count()).select_from(Case).where(
            Case.process_version_id == source.id, Case.status == "open"))
    echo(f"{on_source} open cases on {key} v{source_version}; moving them to v{target_version}")
    with sessions() as session:
        plan = migration.plan(session, rt, key, source_version, target_version)
        started = time.perf_counter()
        fits = migration.dry_run(session, rt, plan)
        dry = time.perf_counter() - started
    with sessions() as session:
        plan = migration.plan(session, rt, key, source_version, target_version)
        started = time.perf_counter()
        moved = failed = 0
        for batch in migration.migrate(session, rt, plan, "bench"):
            session.commit()
            moved += len(batch.migrated)
            failed += len(batch.failed)
        real = time.perf_counter() - started
        run = batch.run if moved or failed else None
    started = time.perf_counter()
    with sessions() as session:
        undone = len(migration.undo(session, rt, run, "bench").restored) if run else 0
        session.commit()
    undo_seconds = time.perf_counter() - started
    result = {"cases": len(fits), "can_migrate": sum(f.can_migrate for f in fits),
              "dry_run_per_s": round(len(fits) / dry, 1) if dry else None,
              "migrated": moved, "failed": failed, "migrate_seconds": round(real, 2),
              "migrated_per_s": round(moved / real, 1) if real else None,
              "undone": undone, "undo_per_s": round(undone / undo_seconds, 1) if undo_seconds else None}
    echo(f"dry run {result['dry_run_per_s']} cases/s; moved {moved} in {real:.2f} s = "
         f"{result['migrated_per_s']} cases/s; undone {undone} at {result['undo_per_s']} cases/s")
    if not keep:
        with sessions() as session:
            session.execute(delete(CaseMigration).where(CaseMigration.case_id.in_(created)))
            session.commit()
        delete_cases(sessions, created)
        with sessions() as session:  # the bench's version goes too once no case runs on it
            if not session.scalar(select(func.count()).select_from(Case).where(Case.process_version_id == target_id)):
                session.execute(delete(ProcessVersion).where(ProcessVersion.id == target_id))
                session.commit()
    return result
