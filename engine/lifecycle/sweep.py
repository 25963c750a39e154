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

from models import Case, CaseEvent

from engine.lifecycle.cases import open_tasks
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


def record_incident(session: Session, rt: Runtime, case_id: int, message: str) -> None:
    """Park a case whose timers cannot fire, visibly: the sweep skips it until retried."""
    now = rt.clock()
    session.execute(update(Case).where(Case.id == case_id).values(incident=message[:2000], updated_at=now)
                    .execution_options(synchronize_session=False))
    session.add(CaseEvent(case_id=case_id, at=now, kind="incident", data={"error": message[:2000]}))


def retry_incident(session: Session, rt: Runtime, case: Case) -> None:
    """Clear a case's incident and fire its timers again (after the process was fixed)."""
    session.execute(update(Case).where(Case.id == case.id).values(incident=None)
                    .execution_options(synchronize_session=False))
    session.refresh(case)
    fire_timers(session, rt, case)
