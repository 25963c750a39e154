"""Fire due timers: take only cases whose earliest timer has passed, one transaction per case.

Safe to run in any number of processes at once. On PostgreSQL each case is claimed with
``FOR UPDATE SKIP LOCKED``, so two sweepers never wait for or take the same case; on any
database the version check on the case row means a case can only move on from the state
that was read, so a timer cannot fire twice: the slower sweeper's write matches no row
and is rolled back. A sweeper killed mid-batch loses nothing: its open transaction is
rolled back by the database and the case is still due for the next pass.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models import Case, Task, User

from engine.lifecycle.cases import complete_task, deliver_message, open_tasks
from engine.lifecycle.incidents import pending_retry, record_incident
from engine.errors import Conflict, ProcessFailure
from engine.lifecycle.record import record_step
from engine.runtime import Runtime
from engine.spiff import TIMER_FIRED, ProcessError

log = logging.getLogger("gridflow.sweep")


@dataclass
class SweepResult:
    fired: int = 0
    conflicts: int = 0
    incidents: list[str] = field(default_factory=list)
    lateness: list[float] = field(default_factory=list)  # seconds past due, per case fired


def due_case_query(now: datetime, dialect: str):
    # Strictly earlier: SpiffWorkflow fires a timer only once its time has passed (``<`` now),
    # so a case whose timer is due this very instant would be loaded for nothing.
    query = (select(Case).where(Case.next_timer_at < now, Case.incident.is_(None))
             .order_by(Case.next_timer_at).limit(1))
    return query.with_for_update(skip_locked=True) if dialect == "postgresql" else query


def sweep(sessions: sessionmaker, rt: Runtime, *, batch: int | None = None) -> SweepResult:
    """Fire the timers of up to ``batch`` due cases; commit after each case."""
    batch = batch or int(rt.settings.get("SWEEP_BATCH", 200))
    result = SweepResult()
    skipped: set[int] = set()
    for _ in range(batch):
        with sessions() as session:
            now = rt.clock()
            query = due_case_query(now, session.get_bind().dialect.name)
            if skipped:
                query = query.where(Case.id.not_in(skipped))
            case = session.scalars(query).first()
            if case is None:
                break
            due = case.next_timer_at
            try:
                fire_timers(session, rt, case)
                session.commit()
                result.fired += 1
                result.lateness.append((now - due).total_seconds())
                if case.next_timer_at is not None and case.next_timer_at < now:
                    skipped.add(case.id)  # its timer did not fire yet (clock skew): next pass
            except Conflict:
                session.rollback()  # another sweeper or a user moved the case first
                result.conflicts += 1
                skipped.add(case.id)
            except ProcessFailure as exc:
                session.rollback()
                record_incident(session, rt, case.id, str(exc))
                session.commit()
                result.incidents.append(f"{case.code}: {exc}")
                log.error("timer of case %s failed: %s", case.code, exc)
    return result


def fire_timers(session: Session, rt: Runtime, case: Case) -> None:
    """Fire the case's due timers through the process and record what they did."""
    bundle = rt.bundle(session, case.process_version_id)
    workflow = rt.load_workflow(session, case)
    due = case.next_timer_at
    try:
        effects = rt.workflows.fire_timers(workflow)
    except ProcessError as exc:
        raise ProcessFailure(f"a timer failed: {exc}") from None
    fired = [e.bpmn_id for e in effects if e.kind == TIMER_FIRED]
    record_step(session, rt, case, workflow, bundle, None, kind="timer",
                data={"due": due.isoformat() if due else None, "timers": fired,
                      "effects": [e.bpmn_id for e in effects if e.kind != TIMER_FIRED]},
                open_rows=open_tasks(session, case), effects=effects,
                keep_live=False)  # a swept case is rarely touched again soon; keep the heap small


def retry_incident(session: Session, rt: Runtime, case: Case) -> None:
    """Run the step that failed again (after the process was fixed): a failed completion of a
    task still open or a failed message, with the same submission and actor; else the timers."""
    pending = pending_retry(session, case)
    actor = session.get(User, pending["actor_id"]) if pending.get("actor_id") else None
    task = session.get(Task, pending["task_id"]) if pending.get("task_id") else None
    if task is not None and task.status == "open" and task.case_id == case.id:
        complete_task(session, rt, actor, task.id, pending.get("payload") or {})
        return
    if pending.get("message"):
        deliver_message(session, rt, case, pending["message"], pending.get("payload") or {}, actor)
        return
    session.execute(update(Case).where(Case.id == case.id).values(incident=None)
                    .execution_options(synchronize_session=False))
    session.refresh(case)
    fire_timers(session, rt, case)
