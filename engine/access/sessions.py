"""Page sessions one by one: each sign-in opens a session row whose secret key the cookie carries
(only its SHA-256 is stored). Signing out ends that session only; signing out everywhere ends all
of the user's, and bumps their session epoch so that cookies from before session rows existed stop
too. A deactivated user's sessions open nothing."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import User, UserSession

from engine.access.accounts import end_sessions


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(session: Session, user: User, *, now: datetime, max_age: timedelta) -> str:
    """Start a page session for ``user`` and return its key (for the cookie, never stored)."""
    # Sessions older than the maximum age open nothing any more: drop the user's, so rows do not pile up.
    session.execute(delete(UserSession).where(UserSession.user_id == user.id, UserSession.created_at < now - max_age))
    key = secrets.token_urlsafe(32)
    session.add(UserSession(key_hash=_digest(key), user_id=user.id, created_at=now))
    session.flush()
    return key


def session_user(session: Session, key: str | None) -> User | None:
    """The active user whose open page session ``key`` is, else None (ended, unknown or deactivated)."""
    if not key or not isinstance(key, str) or len(key) > 100:
        return None
    user = session.scalars(select(User).join(UserSession, UserSession.user_id == User.id)
                           .where(UserSession.key_hash == _digest(key))).first()
    return user if user is not None and user.active else None


def end_session(session: Session, key: str | None) -> None:
    """End the one page session ``key`` opens; the user's other sessions go on."""
    if key and isinstance(key, str):
        session.execute(delete(UserSession).where(UserSession.key_hash == _digest(key)))


def end_all_sessions(session: Session, user: User) -> int:
    """End every page session of ``user`` (sign out everywhere); return how many were open."""
    ended = session.execute(delete(UserSession).where(UserSession.user_id == user.id)).rowcount
    end_sessions(session, user)
    return ended
