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
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session, undefer
from sqlalchemy.orm.attributes import set_committed_value

from models import Case, CaseEvent, CaseMigration, ProcessVersion, Task

from engine.errors import Conflict, EngineError, InputError, Message, NotFound
from engine.lifecycle.record import stage_of
from engine.lifecycle.chain import append_events
from engine.process.versions import VersionSummary, versions
from engine.runtime import Runtime
from engine.spiff import ProcessBundle, ProcessError, SpecMapping, Unfit

REASONS = {
    "waits_in_removed": "it waits in {task}, which version {to} does not have",
    "waits_in_changed_kind": "it waits in {task}, which is another kind of element in version {to}",
    "waits_in_reshaped": "it waits in {task}, and what leads into it (a flow or boundary event) changed in version {to}",
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
        problems = rt.workflows.migration_problems(case.state, migration.mapping)
        fits.append(CaseFit(case.code, not problems, reasons(problems, migration)))
    return fits


@dataclass(frozen=True)
class MigrationPreview:
    """What the studio's migration page shows: the versions, the plan and each case's verdict
    (when two versions were chosen), the runs that can still be undone."""

    versions: list[VersionSummary]
    plan: MigrationPlan | None
    fits: list[CaseFit]
    runs: list[RunSummary]


@dataclass(frozen=True)
class RunSummary:
    run: str
    from_version: int
    to_version: int
    by: str
    at: datetime
    cases: int
    undone: int


def preview(session: Session, rt: Runtime, key: str, from_version: int | None, to_version: int | None,
            chosen: dict[str, str] | None = None) -> MigrationPreview:
    """The dry run of moving ``from_version``'s open cases (none chosen: no plan), with the
    versions to choose from and the recent runs that can be undone."""
    moving = plan(session, rt, key, from_version, to_version, chosen) if from_version and to_version else None
    return MigrationPreview(versions(session, key), moving, dry_run(session, rt, moving) if moving else [],
                            recent_runs(session, rt, key))


def recent_runs(session: Session, rt: Runtime, key: str) -> list[RunSummary]:
    """The migration runs of ``key`` still inside the undo window, newest first."""
    days = float(rt.settings.get("MIGRATION_UNDO_DAYS") or 0)
    if days <= 0:
        return []
    source = ProcessVersion.__table__.alias("source")
    target = ProcessVersion.__table__.alias("target")
    rows = session.execute(
        select(CaseMigration.run, source.c.version, target.c.version, CaseMigration.by, func.min(CaseMigration.at),
               func.count(), func.count(CaseMigration.undone_at))
        .join(source, source.c.id == CaseMigration.from_version_id)
        .join(target, target.c.id == CaseMigration.to_version_id)
        .where(source.c.key == key, CaseMigration.at >= rt.clock() - timedelta(days=days))
        .group_by(CaseMigration.run, source.c.version, target.c.version, CaseMigration.by)
        .order_by(func.min(CaseMigration.at).desc()).limit(20))
    return [RunSummary(*row) for row in rows]


def migrate(session: Session, rt: Runtime, migration: MigrationPlan, by: str, codes: list[str] | None = None,
            batch_size: int | None = None) -> Iterator[BatchResult]:
    """Move the cases batch by batch; yield after each batch so the caller commits it."""
    size = max(1, int(batch_size or rt.settings.get("MIGRATION_BATCH_SIZE") or 500))
    run = uuid.uuid4().hex
    ids = list(session.scalars(select(Case.id).where(Case.process_version_id == migration.source.id,
                                                     Case.status == "open").order_by(Case.id))) \
        if codes is None else [c.id for c in _cases(session, migration, codes)]
    for start in range(0, len(ids), size):
        batch = BatchResult(run)
        cases = list(session.scalars(select(Case).options(undefer(Case.state))
                                     .where(Case.id.in_(ids[start:start + size])).order_by(Case.id)))
        moves = _Moves(session, rt, by, [c.id for c in cases])
        for case in cases:
            if case.process_version_id != migration.source.id:
                batch.failed.append(_elsewhere(session, case, migration))
                continue
            try:
                problems = moves.move(case, migration, run)
            except (EngineError, ProcessError) as exc:
                batch.failed.append(CaseFit(case.code, False, (Message(str(getattr(exc, "message", exc))),)))
                continue
            if problems:
                batch.failed.append(CaseFit(case.code, False, reasons(problems, migration)))
            else:
                batch.migrated.append(case.code)
        moves.flush()
        yield batch


def move_case(session: Session, rt: Runtime, case: Case, migration: MigrationPlan, by: str,
              run: str | None) -> list[Unfit]:
    """Move one case (inside the caller's transaction); return what stops it, writing nothing then."""
    moves = _Moves(session, rt, by, [case.id])
    problems = moves.move(case, migration, run)
    moves.flush()
    return problems


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
    versions = {v.id: v for v in session.scalars(select(ProcessVersion).where(
        ProcessVersion.id.in_({r.from_version_id for r in rows} | {r.to_version_id for r in rows})))}
    cases = {c.id: c for c in session.scalars(select(Case).options(undefer(Case.state))
                                              .where(Case.id.in_([r.case_id for r in rows])))}
    moves = _Moves(session, rt, by, list(cases))
    now = rt.clock()
    undone = []
    for row in rows:
        case = cases[row.case_id]
        if row.undone_at is not None:
            continue
        if case.version != row.moved_case_version or case.process_version_id != row.to_version_id:
            result.refused.append(CaseFit(case.code, False, (Message(
                "it has taken steps on the new version since it moved"),)))
            continue
        source, target = versions[row.from_version_id], versions[row.to_version_id]
        bundle = rt.bundle(session, source.id)
        ready, waiting = rt.workflows.waits(bundle, row.old_state)
        if moves.write(case, source, row.old_state, ready, waiting,
                       {"from_version": target.version, "to_version": source.version, "by": by, "undoes": run}):
            undone.append(row.id)
            result.restored.append(case.code)
        else:
            result.refused.append(CaseFit(case.code, False, (Message("it was changed by someone else meanwhile"),)))
    if undone:
        session.execute(update(CaseMigration).where(CaseMigration.id.in_(undone)).values(undone_at=now)
                        .execution_options(synchronize_session=False))
    moves.flush()
    return result


_CASES, _TASKS, _MOVES = Case.__table__, Task.__table__, CaseMigration.__table__
_MOVE_CASE = (update(_CASES).where(_CASES.c.id == bindparam("b_id"), _CASES.c.version == bindparam("b_seen"))
              .values(version=bindparam("b_version"), process_version_id=bindparam("b_pv"),
                      state=bindparam("b_state"), stage=bindparam("b_stage"), updated_at=bindparam("b_at")))
_RENAME_TASK = (update(_TASKS).where(_TASKS.c.id == bindparam("b_id"))
                .values(bpmn_id=bindparam("b_bpmn_id"), name=bindparam("b_name"), stage=bindparam("b_stage"),
                        form_key=bindparam("b_form_key")))
_INSERT_MOVES = insert(_MOVES)


class _Moves:
    """The writes of moving cases, gathered and sent as a few statements per batch.

    A move changes no task's state, data or timer, so it is not a step of the workflow: the
    case row gets its new version, state and stage (one guarded UPDATE each: a case someone
    else changed meanwhile stays as it was, all of it), its open task rows the new version's
    names and stages (ids, assignees and due times stay), and its timeline a ``migrated`` event.
    """

    def __init__(self, session: Session, rt: Runtime, by: str, case_ids: list[int]):
        self.session, self.rt, self.by = session, rt, by
        self.conn = session.connection()
        # Every case's open task rows, read in one query for the batch.
        self.open_rows: dict[int, list] = {}
        for start in range(0, len(case_ids), 500):
            for row in self.conn.execute(select(_TASKS.c.id, _TASKS.c.spiff_id, _TASKS.c.case_id).where(
                    _TASKS.c.case_id.in_(case_ids[start:start + 500]), _TASKS.c.status == "open")):
                self.open_rows.setdefault(row.case_id, []).append(row)
        self.now = rt.clock()
        self.events: list[dict] = []
        self.renames: list[dict] = []
        self.kept: list[dict] = []

    def move(self, case: Case, migration: MigrationPlan, run: str | None) -> list[Unfit]:
        moved = self.rt.workflows.migrate_state(migration.bundle, case.state, migration.mapping)
        if moved.problems:
            return moved.problems
        old_state, seen = case.state, case.version
        data = {"from_version": migration.source.version, "to_version": migration.target.version, "by": self.by,
                **({"run": run} if run else {})}
        if not self.write(case, migration.target, moved.state, moved.ready, moved.waiting, data):
            raise Conflict(Message("case {code} was changed by someone else; try again", code=case.code))
        if run is not None:
            self.kept.append({"run": run, "case_id": case.id, "from_version_id": migration.source.id,
                              "to_version_id": migration.target.id, "old_state": old_state,
                              "moved_case_version": seen + 1, "by": self.by, "at": self.now, "undone_at": None})
        return []

    def write(self, case: Case, version: ProcessVersion, state: bytes, ready, waiting, data: dict) -> bool:
        stage = stage_of([node for _, node in ready], waiting, case.stage) if ready or waiting else case.stage
        result = self.conn.execute(_MOVE_CASE, {"b_id": case.id, "b_seen": case.version, "b_version": case.version + 1,
                                                "b_pv": version.id, "b_state": state, "b_stage": stage,
                                                "b_at": self.now})
        if result.rowcount != 1:
            return False
        from_stage = case.stage
        for key, value in {"version": case.version + 1, "process_version_id": version.id, "state": state,
                           "stage": stage, "updated_at": self.now}.items():
            set_committed_value(case, key, value)
        nodes = dict(ready)
        for row in self.open_rows.get(case.id, ()):
            node = nodes.get(row.spiff_id)
            if node is not None:
                self.renames.append({"b_id": row.id, "b_bpmn_id": node.bpmn_id, "b_name": node.name,
                                     "b_stage": node.properties.get("stage", ""), "b_form_key": node.form_key})
        self.events.append({"case_id": case.id, "at": self.now, "actor_id": None, "kind": "migrated",
                            "task_bpmn_id": None, "task_name": None, "from_stage": from_stage, "to_stage": stage,
                            "data": data})
        return True

    def flush(self) -> None:
        if self.renames:
            self.conn.execute(_RENAME_TASK, self.renames)
        for event in self.events:  # each case's event goes at the end of its own hash chain
            append_events(self.session, event["case_id"], [event])
        if self.kept:
            self.conn.execute(_INSERT_MOVES, self.kept)
        self.renames, self.events, self.kept = [], [], []


def _version(session: Session, key: str, version: int) -> ProcessVersion:
    row = session.scalars(select(ProcessVersion).where(ProcessVersion.key == key,
                                                       ProcessVersion.version == version)).first()
    if row is None:
        raise NotFound(Message("{key} has no version {version}", key=key, version=version))
    return row


def _cases(session: Session, migration: MigrationPlan, codes: list[str] | None) -> list[Case]:
    if codes is None:
        return list(session.scalars(select(Case).options(undefer(Case.state)).where(
            Case.process_version_id == migration.source.id, Case.status == "open").order_by(Case.id)))
    cases = list(session.scalars(select(Case).options(undefer(Case.state))
                                 .where(Case.code.in_(codes)).order_by(Case.id)))
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
