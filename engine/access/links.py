"""Secrets handed out to the public: a reporter's tracking link and an Open311 client's API key.

Both are random, shown once and stored only as SHA-256 (they carry 192+ bits of entropy, so a
fast hash is enough; a leaked table does not give working links or keys).
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from models import Case, Open311Client, TrackingLink

from engine.access.accounts import digest
from engine.errors import Conflict, InputError, NotFound
from engine.runtime import Runtime

LAST_USED_RESOLUTION = timedelta(minutes=1)



_INSERT_LINK = insert(TrackingLink.__table__)


def issue_tracking_secret(session: Session, rt: Runtime, case: Case) -> str:
    """Create the reporter's secret for ``case``; return it (it cannot be recovered later)."""
    secret = secrets.token_urlsafe(24)
    # A Core insert: a unit-of-work flush here cost about a millisecond on every resident report.
    session.execute(_INSERT_LINK, {"case_id": case.id, "secret_hash": digest(secret), "created_at": rt.clock()})
    return secret


def case_for_secret(session: Session, code: str, secret: str) -> Case:
    """Return the case whose code and tracking secret match; NotFound otherwise (no hint which)."""
    if not secret or len(secret) > 100:
        raise NotFound(f"case {code} does not exist")
    case = session.scalars(select(Case).join(TrackingLink, TrackingLink.case_id == Case.id)
                           .where(TrackingLink.secret_hash == digest(secret))).first()
    if case is None or case.code != code:
        raise NotFound(f"case {code} does not exist")
    return case


def create_open311_client(session: Session, rt: Runtime, name: str) -> str:
    """Register an Open311 client under ``name``; return its API key (shown only once)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InputError({"name": ["Give a name of 1 to 100 characters."]})
    if session.scalar(select(Open311Client.id).where(Open311Client.name == name)) is not None:
        raise Conflict(f"an Open311 client named {name!r} already exists")
    key = "o311_" + secrets.token_urlsafe(32)
    session.add(Open311Client(name=name, key_hash=digest(key), created_at=rt.clock()))
    session.flush()
    return key


def revoke_open311_client(session: Session, rt: Runtime, name: str) -> Open311Client:
    client = session.scalars(select(Open311Client).where(Open311Client.name == name)).first()
    if client is None:
        raise NotFound(f"no Open311 client named {name!r}")
    if client.revoked_at is None:
        client.revoked_at = rt.clock()
    return client


def open311_clients(session: Session) -> list[Open311Client]:
    return list(session.scalars(select(Open311Client).order_by(Open311Client.name)))


def client_for_key(session: Session, rt: Runtime, key: str) -> Open311Client | None:
    """Return the unrevoked client holding ``key``; record its use (at most once a minute,
    in its own short transaction, like API tokens)."""
    if not key or len(key) > 200:
        return None
    client = session.scalars(select(Open311Client).where(Open311Client.key_hash == digest(key))).first()
    if client is None or client.revoked_at is not None:
        return None
    now = rt.clock()
    if client.last_used_at is None or now - client.last_used_at >= LAST_USED_RESOLUTION:
        with session.get_bind().begin() as conn:
            conn.execute(update(Open311Client).where(Open311Client.id == client.id).values(last_used_at=now))
    return client
