"""Append case events to the case's hash chain.

Each case has its own chain: an event stores its place (``seq``), the previous event's hash and
the SHA-256 of that hash and its own canonical content. Chaining per case rather than over the
whole table keeps writers of different cases apart (PostgreSQL runs several web and sweep
processes; a table-wide chain would make every step of every case wait for one lock), while the
writers of one case already take that case's row: the ``event_seq`` bump below is an UPDATE of
the case row, so a second writer waits for the first to commit and then continues its chain. The
unique (case_id, seq) is the backstop: a forked chain cannot be stored. The order across cases is
the events' ids and times, which the chain does not attest.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Iterable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from models import Case, CaseEvent

_CASES, _EVENTS = Case.__table__, CaseEvent.__table__
CONTENT_FIELDS = ("case_id", "seq", "at", "actor_id", "kind", "task_bpmn_id", "task_name",
                  "from_stage", "to_stage", "data")
_BUMP = (update(_CASES).where(_CASES.c.id == bindparam("b_id"))
         .values(event_seq=_CASES.c.event_seq + bindparam("b_n")).returning(_CASES.c.event_seq))
_LAST_HASH = select(_EVENTS.c.hash).where(_EVENTS.c.case_id == bindparam("b_case"),
                                          _EVENTS.c.seq == bindparam("b_seq"))
_INSERT = insert(_EVENTS)


def canonical(event: dict[str, Any]) -> bytes:
    """Return the bytes an event's hash covers: its content fields as sorted, compact JSON."""
    content = {}
    for name in CONTENT_FIELDS:
        value = event.get(name)
        if isinstance(value, datetime):
            value = value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        content[name] = value if name != "data" else (value or {})
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def event_hash(prev_hash: str, event: dict[str, Any]) -> str:
    """Return SHA-256 (hex) of the previous event's hash followed by this event's canonical content."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical(event))
    return digest.hexdigest()


def link(events: Iterable[dict[str, Any]], last_seq: int, last_hash: str) -> list[dict[str, Any]]:
    """Give events (dicts of one case, in order) their seq, prev_hash and hash after the chain's end."""
    linked = []
    for event in events:
        last_seq += 1
        row = {**event, "seq": last_seq, "prev_hash": last_hash}
        row["data"] = json.loads(json.dumps(row.get("data") or {}, ensure_ascii=False))  # as the JSON column gives it back
        row["hash"] = last_hash = event_hash(last_hash, row)
        linked.append(row)
    return linked


def append_events(session: Session, case_id: int, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert events of one case at the end of its chain and return the rows written.

    Takes the case row's lock (the caller's transaction keeps it until it commits)."""
    if not events:
        return []
    conn = session.connection()
    end = conn.execute(_BUMP, {"b_id": case_id, "b_n": len(events)}).scalar_one()
    loaded = session.identity_map.get(identity_key(Case, case_id))
    if loaded is not None:
        set_committed_value(loaded, "event_seq", end)
    start = end - len(events)
    prev = conn.execute(_LAST_HASH, {"b_case": case_id, "b_seq": start}).scalar() if start else ""
    rows = link(({**e, "case_id": case_id} for e in events), start, prev or "")
    conn.execute(_INSERT, rows)
    return rows


def append_event(session: Session, case_id: int, *, at: datetime, kind: str, actor_id: int | None = None,
                 task_bpmn_id: str | None = None, task_name: str | None = None, from_stage: str | None = None,
                 to_stage: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Insert one event at the end of the case's chain (comments, photos, claims, incidents)."""
    return append_events(session, case_id, [{
        "at": at, "kind": kind, "actor_id": actor_id, "task_bpmn_id": task_bpmn_id, "task_name": task_name,
        "from_stage": from_stage, "to_stage": to_stage, "data": data or {}}])[0]
