"""Check the case events' hash chains and remember how far they were found intact.

A run walks each case's chain in order (see engine.lifecycle.chain): every event's place must
follow the previous one's, its ``prev_hash`` must be that event's hash, its ``hash`` must be
recomputed from its content, and the chain must end where the case row says it does. It names
each event that was changed, removed before or inserted, the earliest (lowest id) first. A run
``--from`` an earlier intact run checks only the events written after that run's mark, linked
to the hashes before it, and counts the events up to the mark to see that none went missing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditVerification, Case, CaseEvent

from engine.errors import InputError, Message
from engine.lifecycle.chain import event_hash
from engine.runtime import Runtime

_COLUMNS = (CaseEvent.id, CaseEvent.case_id, CaseEvent.seq, CaseEvent.prev_hash, CaseEvent.hash, CaseEvent.at,
            CaseEvent.actor_id, CaseEvent.kind, CaseEvent.task_bpmn_id, CaseEvent.task_name,
            CaseEvent.from_stage, CaseEvent.to_stage, CaseEvent.data)


@dataclass(frozen=True)
class Problem:
    """One break in a chain: the event where it shows (None when a case's events are all gone)."""

    event_id: int | None
    case_id: int
    text: str


@dataclass
class Verification:
    """What a run found; ``record`` is the stored row."""

    record: AuditVerification
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class TrailStatus:
    """For the assessment page: the last intact run's mark and whether a later run found a break."""

    verified_at: datetime | None
    up_to_event_id: int | None
    up_to_at: datetime | None
    broken_at: datetime | None
    broken_event_id: int | None
    problem: str | None


def verify_chain(session: Session, rt: Runtime, *, from_id: int | None = None, by: str = "") -> Verification:
    """Check the chains (all of them, or after run ``from_id``), store the result and return it."""
    started = rt.clock()
    start = None
    if from_id is not None:
        start = session.get(AuditVerification, from_id)
        if start is None or not start.ok:
            raise InputError({"from": [Message("check {id} does not exist or did not find the trail intact",
                                               id=from_id)]})
    problems: list[Problem] = []
    checked = 0
    floor = start.up_to_event_id if start else 0
    if start is not None:
        count = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.id <= floor))
        if count != start.events_up_to:
            change = (f"{start.events_up_to - count} of them were removed" if count < start.events_up_to
                      else f"{count - start.events_up_to} were inserted among them")
            problems.append(Problem(None, 0, f"check {start.id} vouched for {start.events_up_to} event(s) up to "
                                             f"#{floor}; {change} since"))
    for case_id, code, seen_seq, events in _chains(session, floor):
        pred_seq, prev = _predecessor(session, case_id, events[0], floor)
        expected = pred_seq + 1
        for event in events:
            checked += 1
            if event.seq > expected:
                problems.append(Problem(event.id, case_id, f"case {code}: event(s) {expected}–{event.seq - 1} "
                                                           f"of its chain were removed before event #{event.id}"))
            elif event.seq < expected or event.prev_hash != prev:
                problems.append(Problem(event.id, case_id, f"event #{event.id} (case {code}, #{event.seq}) "
                                                           "does not follow the event before it: an event was "
                                                           "inserted or removed there, or the one before rewritten"))
            elif event_hash(prev, event._asdict()) != event.hash:
                problems.append(Problem(event.id, case_id, f"event #{event.id} (case {code}, #{event.seq}) "
                                                           "was changed: its content does not match its hash"))
            prev, expected = event.hash, event.seq + 1
        last = events[-1]
        if last.seq < seen_seq:
            problems.append(Problem(last.id, case_id, f"case {code}: its last {seen_seq - last.seq} event(s) "
                                                          f"after event #{last.id} were removed"))
        elif last.seq > seen_seq:
            problems.append(Problem(last.id, case_id, f"event #{last.id} (case {code}, #{last.seq}) was "
                                                      f"inserted after the end of its chain (#{seen_seq})"))
    if start is None:
        for case_id, code, seen_seq in session.execute(
                select(Case.id, Case.code, Case.event_seq).where(Case.event_seq > 0,
                                                      ~select(CaseEvent.id).where(CaseEvent.case_id == Case.id)
                                                      .exists())):
            problems.append(Problem(None, case_id, f"case {code}: all {seen_seq} of its events were removed"))
    problems.sort(key=lambda p: (p.event_id is None, p.event_id or 0))
    cutoff = started - timedelta(seconds=float(rt.settings.get("AUDIT_SETTLE_SECONDS", 60)))
    if problems:
        up_to, up_to_at, events_up_to = floor, start.up_to_at if start else None, start.events_up_to if start else 0
    else:
        up_to = max(floor, session.scalar(select(func.max(CaseEvent.id)).where(CaseEvent.at <= cutoff)) or 0)
        up_to_at = session.scalar(select(CaseEvent.at).where(CaseEvent.id == up_to)) if up_to else None
        events_up_to = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.id <= up_to))
    record = AuditVerification(
        started_at=started, finished_at=rt.clock(), from_id=start.id if start else None, up_to_event_id=up_to,
        up_to_at=up_to_at, events_up_to=events_up_to, events_checked=checked, ok=not problems,
        first_bad_event_id=problems[0].event_id if problems else None,
        first_bad_case_id=problems[0].case_id or None if problems else None,
        problem=problems[0].text if problems else None, problems=len(problems), by=by)
    session.add(record)
    session.flush()
    return Verification(record=record, problems=problems)


def trail_status(session: Session) -> TrailStatus:
    """Return how far the trail was last found intact, and the break a later run found, if any."""
    good = session.scalars(select(AuditVerification).where(AuditVerification.ok.is_(True))
                           .order_by(AuditVerification.id.desc()).limit(1)).first()
    bad = session.scalars(select(AuditVerification).where(AuditVerification.ok.is_(False),
                                                          AuditVerification.id > (good.id if good else 0))
                          .order_by(AuditVerification.id.desc()).limit(1)).first()
    return TrailStatus(verified_at=good.finished_at if good else None,
                       up_to_event_id=good.up_to_event_id if good else None,
                       up_to_at=good.up_to_at if good else None,
                       broken_at=bad.finished_at if bad else None,
                       broken_event_id=bad.first_bad_event_id if bad else None,
                       problem=bad.problem if bad else None)


def _chains(session: Session, floor: int) -> Iterator[tuple[int, str, int, list]]:
    """Yield (case id, case code, the case's event_seq, its events after ``floor`` in chain order), case by case."""
    query = (select(*_COLUMNS, Case.code.label("case_code"), Case.event_seq).join(Case, Case.id == CaseEvent.case_id)
             .where(CaseEvent.id > floor).order_by(CaseEvent.case_id, CaseEvent.seq))
    current, code, seen, events = None, "", 0, []
    for row in session.execute(query.execution_options(yield_per=2000)):
        if row.case_id != current:
            if events:
                yield current, code, seen, events
            current, code, seen, events = row.case_id, row.case_code, row.event_seq, []
        events.append(row)
    if events:
        yield current, code, seen, events


def _predecessor(session: Session, case_id: int, first, floor: int) -> tuple[int, str]:
    """Return the seq and hash the first event checked must follow: the chain's start, or an event
    before the mark (already vouched for)."""
    if floor == 0 or first.seq == 1:
        return 0, ""
    row = session.execute(select(CaseEvent.seq, CaseEvent.hash)
                          .where(CaseEvent.case_id == case_id, CaseEvent.seq < first.seq, CaseEvent.id <= floor)
                          .order_by(CaseEvent.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row else (0, "")

