"""Idempotent intake: a report sent with a client-made key makes at most one case.

A phone that loses its connection after sending a report cannot know whether the case was
made; it sends the report again with the same key and gets the first case back. The key is the
client's (per signed-in user); the same key with a different report is refused, naming it.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Case, IntakeKey, User

from engine.errors import Conflict, InputError, Message
from engine.runtime import Runtime

KEY_SHAPE = re.compile(r"^[\x21-\x7e]{8,200}$")  # printable ASCII, no spaces: a UUID fits


def request_hash(report: dict[str, Any]) -> str:
    canonical = json.dumps(report, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None, field: str = "Idempotency-Key") -> str | None:
    """The key, or None when none was given; InputError naming ``field`` when it is malformed
    (a blank one too: usually an unset variable in the client, which meant to send a key)."""
    if key is None:
        return None
    if not KEY_SHAPE.match(key):
        raise InputError({field: [Message("8 to 200 printable characters without spaces, e.g. a UUID.")]})
    return key


def report_once(session: Session, rt: Runtime, actor: User, report: dict[str, Any], key: str | None,
                make: Callable[[Session, Runtime, User, dict], Case], *,
                attached: list[str] = ()) -> tuple[Case, bool]:
    """Make the case with ``make`` unless ``actor`` already sent ``key``; return (case, replayed).

    ``attached`` are the SHA-256 digests of the photos sent with the report: the same key with
    other photos is another report, refused like one with other fields. The key row is written in a
    savepoint after the case: of two requests racing with one key, the second waits on the first's
    row (PostgreSQL) or its write lock (SQLite) and then finds it.
    """
    if key is None:
        return make(session, rt, actor, report), False
    digest = request_hash({**report, "_photos": list(attached)} if attached else report)
    found = _replay(session, actor, key, digest)
    if found is not None:
        return found, True
    case = make(session, rt, actor, report)
    try:
        with session.begin_nested():
            session.add(IntakeKey(user_id=actor.id, key=key, request_hash=digest, case_id=case.id,
                                  created_at=rt.clock()))
    except IntegrityError:
        # Someone (the same phone, retrying) committed this key meanwhile: this case must go.
        session.rollback()
        found = _replay(session, actor, key, digest)
        if found is None:
            raise
        return found, True
    return case, False


def _replay(session: Session, actor: User, key: str, digest: str) -> Case | None:
    row = session.scalars(select(IntakeKey).where(IntakeKey.user_id == actor.id, IntakeKey.key == key)).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise Conflict(Message("This Idempotency-Key was used for a different report; make a new key for a new report."))
    return session.get(Case, row.case_id)
