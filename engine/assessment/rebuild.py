"""Rebuild cases' assessment facts from their recorded history.

Facts are written in the transaction of each step (engine/assessment/facts.py). A database that
holds cases from before facts were kept (migration 0005) has none for them, so their months read
as empty. :func:`rebuild` replays each such case's events, step by step (the events one step
wrote share its time), through the same :class:`FactWriter`, with the task row each step
completed (its due and completion times judge lateness, its scope names the department that
held it), and adds them to the monthly tallies.

What the events of a step do not record is the case's department at that moment. It is taken to
be the department of the last department task the case had opened by then (none before its first
dispatch): exactly what the steps wrote, except after a re-dispatch from a department to a street
or grid, where the old department is kept until the case's next department task.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from models import AssessmentFact, AssessmentTally, Case, CaseEvent, Task

from engine.assessment.facts import FactWriter
from engine.assessment.tally import Deltas
from engine.lifecycle.record import STEP_KINDS, RecordedStep
from engine.runtime import Runtime

_EVENT_KEYS = ("kind", "task_bpmn_id", "actor_id", "data")


@dataclass
class Rebuilt:
    cases: int
    facts: int


class _CaseAt:
    """A case as one past step saw it: its own columns, with the department that held the step."""

    def __init__(self, case: Case, department: str | None):
        self._case, self.department_code = case, department

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)


def cases_without_facts(session: Session) -> int:
    """How many cases have no assessment facts at all (made before they were kept)."""
    return session.scalar(select(func.count()).select_from(Case).where(~_has_facts())) or 0


def _has_facts():
    return exists().where(AssessmentFact.case_id == Case.id)


def rebuild(sessions: sessionmaker, rt: Runtime, *, codes: tuple[str, ...] = (), everything: bool = False,
            batch: int = 200, progress: Callable[[int], None] | None = None) -> Rebuilt:
    """Write the facts of the cases that have none (or of ``codes``, or with ``everything`` of every
    case, after clearing all facts and tallies), ``batch`` cases per transaction."""
    writer = FactWriter(rt)
    with sessions() as session:
        if everything:
            session.execute(delete(AssessmentFact))
            session.execute(delete(AssessmentTally))
            session.commit()
        query = select(Case.id).order_by(Case.id)
        if codes:
            query = query.where(Case.code.in_(codes))
        elif not everything:
            query = query.where(~_has_facts())
        ids = list(session.scalars(query))
    done = facts = 0
    for start in range(0, len(ids), batch):
        with sessions() as session:
            for case_id in ids[start:start + batch]:
                facts += _rebuild_case(session, rt, writer, case_id)
            session.commit()
        done += len(ids[start:start + batch])
        if progress:
            progress(done)
    return Rebuilt(done, facts)


def _steps(events) -> list[list[CaseEvent]]:
    """The case's events cut into the steps that wrote them: a step starts with the event of its own
    kind (record_step puts it first) and holds the events after it at the same time. Events written
    beside steps (comments, photos, claims) only ride along; no fact matches them."""
    steps: list[list[CaseEvent]] = []
    for event in events:
        if event.kind in STEP_KINDS or not steps or steps[-1][0].at != event.at:
            steps.append([event])
        else:
            steps[-1].append(event)
    return [s for s in steps if s[0].kind in STEP_KINDS]


def _rebuild_case(session: Session, rt: Runtime, writer: FactWriter, case_id: int) -> int:
    case = session.get(Case, case_id)
    old = [dict(r) for r in session.execute(select(*[c for c in AssessmentFact.__table__.c if c.key != "id"])
                                             .where(AssessmentFact.case_id == case_id)).mappings()]
    if old:   # replaced: take the old facts out of the tallies first
        deltas = Deltas(rt.calendar.tz)
        for row in old:
            deltas.remove(row)
        session.execute(delete(AssessmentFact).where(AssessmentFact.case_id == case_id))
        deltas.apply(session.connection())
    tasks = list(session.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.created_at, Task.id)))
    completed = {(t.bpmn_id, t.completed_at): t for t in tasks if t.completed_at is not None}
    departments = [(t.created_at, t.scope_key[5:]) for t in tasks if t.scope_key.startswith("dept:")]
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq))
    for step_events in _steps(events):
        at = step_events[0].at
        done = next((e for e in step_events if e.kind == "task_completed"), None)
        task = completed.get((done.task_bpmn_id, at)) if done is not None else None
        department = next((code for opened, code in reversed(departments) if opened <= at), None)
        writer(session, RecordedStep(case=_CaseAt(case, department), at=at,
                                     events=[{k: getattr(e, k) for k in _EVENT_KEYS} for e in step_events],
                                     notices=[], task=task))
    return session.scalar(select(func.count()).select_from(AssessmentFact).where(AssessmentFact.case_id == case_id)) or 0
