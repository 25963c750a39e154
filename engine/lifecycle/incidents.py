"""Stuck cases: record why a step failed, and move a case onto a fixed process version.

A case whose step failed keeps an incident (its text on the case row, the details in an
``incident`` case event) until ``gridflow cases retry`` runs the failed step again. A
process version with the mistake cannot be edited, so the case is migrated first.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Case, CaseEvent, ProcessVersion, Task

from engine.errors import Conflict
from engine.lifecycle import migration
from engine.runtime import Runtime
from engine.lifecycle.chain import append_event


def record_incident(session: Session, rt: Runtime, case_id: int, message: str,
                    retry: dict[str, Any] | None = None) -> None:
    """Park a case visibly: the sweep skips it until retried. ``retry`` is what the retry
    runs again (a failed completion's task, actor and submission); timers fire otherwise."""
    now = rt.clock()
    session.execute(update(Case).where(Case.id == case_id).values(incident=message[:2000], updated_at=now)
                    .execution_options(synchronize_session=False))
    append_event(session, case_id, at=now, kind="incident", data={"error": message[:2000], **(retry or {})})


def pending_retry(session: Session, case: Case) -> dict[str, Any]:
    """Return the details of the case's latest incident (``task_id`` when a completion failed)."""
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "incident")
                            .order_by(CaseEvent.id.desc()).limit(1)).first()
    return dict(event.data or {}) if event is not None else {}


def migrate_case(session: Session, rt: Runtime, case: Case, to_version: int, by: str) -> Case:
    """Re-load the case's state onto version ``to_version`` of its process; all or nothing.

    Refused unless every task the case has run or waits in exists in that version (the same
    rules as ``gridflow processes migrate``, engine/lifecycle/migration.py). Due times already
    armed are kept; the task rows, next timer and projection are rewritten.
    """
    current = session.get(ProcessVersion, case.process_version_id)
    if to_version == current.version:
        raise Conflict(f"case {case.code} already runs on {current.key} v{to_version}")
    moving = migration.plan(session, rt, current.key, current.version, to_version)
    problems = migration.move_case(session, rt, case, moving, by, None)
    if problems:
        raise Conflict(f"case {case.code} cannot move to {current.key} v{to_version}: "
                       + "; ".join(migration.reasons(problems, moving)))
    session.refresh(case)
    return case
