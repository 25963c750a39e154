"""Move running cases from one version of a process to another, in batches; undo a run.

Tasks map by BPMN id, by the flow around a task whose id changed, or by the designer's
mapping (``chosen``). A case moves only when every task it waits in and every task it has
run has a counterpart of the same kind; otherwise it stays, and the reasons are reported.
Each case moves all or nothing (a savepoint), keeps its task ids, task data and armed due
times, gets a ``migrated`` timeline event, and its earlier state is kept in
``case_migration`` so the run can be undone for MIGRATION_UNDO_DAYS while it took no step.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Iterator

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, undefer
from sqlalchemy.orm.attributes import set_committed_value

from models import Case, CaseMigration, ProcessVersion, Task

from engine.errors import Conflict, EngineError, InputError, Message, NotFound
from engine.lifecycle.record import record_step
from engine.runtime import Runtime
from engine.spiff import ProcessBundle, ProcessError, SpecMapping, Unfit

REASONS = {
    "waits_in_removed": "it waits in {task}, which version {to} does not have",
    "waits_in_changed_kind": "it waits in {task}, which is another kind of element in version {to}",
    "ran_removed": "it has already run {task}, which version {to} does not have",
    "ran_changed_kind": "it has already run {task}, which is another kind of element in version {to}",
    "next_removed": "its next step {task} does not exist in version {to}",
}


@dataclass(frozen=True)
class MigrationPlan:
    key: str
    source: ProcessVersion
    target: ProcessVersion
    mapping: SpecMapping
    bundle: ProcessBundle   # the target's


@dataclass(frozen=True)
class CaseFit:
    code: str
    can_migrate: bool
    reasons: tuple[Message, ...] = ()


@dataclass
class BatchResult:
    """One committed batch: which cases moved and which failed (with why)."""

    run: str
    migrated: list[str] = field(default_factory=list)
    failed: list[CaseFit] = field(default_factory=list)


@dataclass
class UndoResult:
    restored: list[str] = field(default_factory=list)
    refused: list[CaseFit] = field(default_factory=list)


def plan(session: Session, rt: Runtime, key: str, from_version: int, to_version: int,
         chosen: dict[str, str] | None = None) -> MigrationPlan:
    """Align version ``from_version`` of ``key`` with ``to_version``; ``chosen`` maps old task ids to new."""
    if from_version == to_version:
        raise InputError({"to": [Message("must differ from the version the cases run on")]})
    source, target = (_version(session, key, v) for v in (from_version, to_version))
    old, new = rt.bundle(session, source.id), rt.bundle(session, target.id)
    chosen = dict(chosen or {})
    for old_id, new_id in chosen.items():
        if old.node(old_id) is None and old_id not in old.spec.task_specs:
            raise InputError({"map": [Message("version {v} has no task {task}", v=from_version, task=old_id)]})
        if new_id not in new.spec.task_specs:
            raise InputError({"map": [Message("version {v} has no task {task}", v=to_version, task=new_id)]})
    return MigrationPlan(key, source, target, rt.workflows.spec_mapping(old, new, chosen), new)


def dry_run(session: Session, rt: Runtime, migration: MigrationPlan, codes: list[str] | None = None) -> list[CaseFit]:
    """Say, per case, whether it can move and why not; writes nothing."""
    fits = []
    for case in _cases(session, migration, codes):
        if case.process_version_id != migration.source.id:
            fits.append(_elsewhere(session, case, migration))
            continue
        problems, _ = rt.workflows.migrated(migration.bundle, case.state, migration.mapping)
        fits.append(CaseFit(case.code, not problems, reasons(problems, migration)))
    return fits


def migrate(session: Session, rt: Runtime, migration: MigrationPlan, by: str, codes: list[str] | None = None,
            batch_size: int | None = None) -> Iterator[BatchResult]:
    """Move the cases batch by batch; yield after each batch so the caller commits it."""
    size = max(1, int(batch_size or rt.settings.get("MIGRATION_BATCH_SIZE") or 500))
    run = uuid.uuid4().hex
    ids = [c.id for c in _cases(session, migration, codes, ids_only=True)] if codes is None else \
        [c.id for c in _cases(session, migration, codes)]
    for start in range(0, len(ids), size):
        batch = BatchResult(run)
        cases = list(session.scalars(select(Case).where(Case.id.in_(ids[start:start + size])).order_by(Case.id)))
        open_rows: dict[int, list[Task]] = {}
        for row in session.scalars(select(Task).where(Task.case_id.in_([c.id for c in cases]), Task.status == "open")):
            open_rows.setdefault(row.case_id, []).append(row)
        for case in cases:
            if case.process_version_id != migration.source.id:
                batch.failed.append(_elsewhere(session, case, migration))
                continue
            try:
                with session.begin_nested():
                    problems = move_case(session, rt, case, migration, by, run, open_rows.get(case.id, []))
            except (EngineError, ProcessError) as exc:
                session.expire(case)
                batch.failed.append(CaseFit(case.code, False, (Message(str(getattr(exc, "message", exc))),)))
                continue
            if problems:
                batch.failed.append(CaseFit(case.code, False, reasons(problems, migration)))
            else:
                batch.migrated.append(case.code)
        yield batch


def move_case(session: Session, rt: Runtime, case: Case, migration: MigrationPlan, by: str,
              run: str | None, open_rows: list[Task]) -> list[Unfit]:
    """Move one case (inside the caller's transaction); return what stops it, writing nothing then."""
    old_state = case.state
    problems, workflow = rt.workflows.migrated(migration.bundle, old_state, migration.mapping)
    if problems:
        return problems
    seen = case.version
    # The target's lanes and policy apply to the tasks written now.
    set_committed_value(case, "process_version_id", migration.target.id)
    try:
        record_step(session, rt, case, workflow, migration.bundle, None, kind="migrated", open_rows=open_rows,
                    data={"from_version": migration.source.version, "to_version": migration.target.version,
                          "by": by, **({"run": run} if run else {})})
    except Exception:
        set_committed_value(case, "process_version_id", migration.source.id)
        raise
    session.execute(update(Case).where(Case.id == case.id, Case.version == seen + 1)
                    .values(process_version_id=migration.target.id).execution_options(synchronize_session=False))
    _follow(session, rt, workflow, migration.bundle, open_rows)
    if run is not None:
        session.add(CaseMigration(run=run, case_id=case.id, from_version_id=migration.source.id,
                                  to_version_id=migration.target.id, old_state=old_state,
                                  moved_case_version=case.version, by=by, at=rt.clock()))
    return []


def undo(session: Session, rt: Runtime, run: str, by: str) -> UndoResult:
    """Put the cases of migration ``run`` back on their earlier version and state, each one that
    took no step since; refused once MIGRATION_UNDO_DAYS have passed."""
    rows = list(session.scalars(select(CaseMigration).options(undefer(CaseMigration.old_state))
                                .where(CaseMigration.run == run).order_by(CaseMigration.id)))
    if not rows:
        raise NotFound(Message("no migration run {run}", run=run))
    days = float(rt.settings.get("MIGRATION_UNDO_DAYS") or 0)
    if days <= 0 or rt.clock() - rows[0].at > timedelta(days=days):
        raise Conflict(Message("migration run {run} can no longer be undone (the window is {days} days)",
                               run=run, days=days))
    result = UndoResult()
    for row in rows:
        case = session.get(Case, row.case_id)
        if row.undone_at is not None:
            continue
        if case.version != row.moved_case_version or case.process_version_id != row.to_version_id:
            result.refused.append(CaseFit(case.code, False, (Message(
                "it has taken steps on the new version since it moved"),)))
            continue
        source = session.get(ProcessVersion, row.from_version_id)
        target = session.get(ProcessVersion, row.to_version_id)
        bundle = rt.bundle(session, source.id)
        workflow = rt.workflows.load_state(bundle, row.old_state)
        open_rows = list(session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")))
        with session.begin_nested():
            set_committed_value(case, "process_version_id", source.id)
            record_step(session, rt, case, workflow, bundle, None, kind="migrated", open_rows=open_rows,
                        data={"from_version": target.version, "to_version": source.version, "by": by,
                              "undoes": run})
            session.execute(update(Case).where(Case.id == case.id, Case.version == case.version)
                            .values(process_version_id=source.id).execution_options(synchronize_session=False))
            _follow(session, rt, workflow, bundle, open_rows)
            row.undone_at = rt.clock()
        result.restored.append(case.code)
    return result


_RENAME_TASK = (update(Task.__table__).where(Task.__table__.c.id == bindparam("b_id"))
                .values(bpmn_id=bindparam("b_bpmn_id"), name=bindparam("b_name"), stage=bindparam("b_stage"),
                        form_key=bindparam("b_form_key")))


def _follow(session: Session, rt: Runtime, workflow, bundle: ProcessBundle, open_rows: list[Task]) -> None:
    """Give the task rows still open the new version's id, name, stage and form; who takes them,
    their assignee and their due time stay as they were."""
    nodes = {t.spiff_id: t.node for t in rt.workflows.ready_tasks(workflow, bundle)}
    changes = []
    for row in open_rows:
        node = nodes.get(row.spiff_id)
        if node is None:
            continue
        values = {"bpmn_id": node.bpmn_id, "name": node.name, "stage": node.properties.get("stage", ""),
                  "form_key": node.form_key}
        if any(getattr(row, k) != v for k, v in values.items()):
            changes.append({"b_id": row.id, **{f"b_{k}": v for k, v in values.items()}})
            for key, value in values.items():
                set_committed_value(row, key, value)
    if changes:
        session.connection().execute(_RENAME_TASK, changes)


def _version(session: Session, key: str, version: int) -> ProcessVersion:
    row = session.scalars(select(ProcessVersion).where(ProcessVersion.key == key,
                                                       ProcessVersion.version == version)).first()
    if row is None:
        raise NotFound(Message("{key} has no version {version}", key=key, version=version))
    return row


def _cases(session: Session, migration: MigrationPlan, codes: list[str] | None, ids_only: bool = False) -> list:
    if codes is None:
        query = select(Case.id if ids_only else Case).where(
            Case.process_version_id == migration.source.id, Case.status == "open").order_by(Case.id)
        return list(session.execute(query)) if ids_only else list(session.scalars(query))
    cases = list(session.scalars(select(Case).where(Case.code.in_(codes)).order_by(Case.id)))
    unknown = sorted(set(codes) - {c.code for c in cases})
    if unknown:
        raise NotFound(Message("no case {codes}", codes=", ".join(unknown)))
    return cases


def _elsewhere(session: Session, case: Case, migration: MigrationPlan) -> CaseFit:
    version = session.get(ProcessVersion, case.process_version_id)
    return CaseFit(case.code, False, (Message("it runs on version {v}, not {frm}", v=version.version,
                                              frm=migration.source.version),))


def reasons(problems: list[Unfit], migration: MigrationPlan) -> tuple[Message, ...]:
    return tuple(Message(REASONS[p.reason], task=p.task, to=migration.target.version) for p in problems)
