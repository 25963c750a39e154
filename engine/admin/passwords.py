"""One-time set-password links: an administrator makes one for a user (instead of telling them a
password), the user opens it and chooses their own. Only the secret's SHA-256 is stored; a link
works once, until PASSWORD_LINK_HOURS after it was made, and only for an active user."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import PasswordLink, User

from engine.access.accounts import digest, end_sessions, hash_password
from engine.admin.changes import record_change
from engine.admin.scope import admin_scope
from engine.admin.users import common_path, managed_user
from engine.errors import Conflict, InputError, Message, NotFound
from engine.runtime import Runtime

MAX_PASSWORD = 256


def issue_password_link(session: Session, rt: Runtime, actor: User, username: str) -> tuple[str, datetime]:
    """Make a set-password link for a user the actor manages; return its secret (shown once) and
    when it expires. Their current password keeps working until they use it."""
    user = managed_user(session, admin_scope(session, rt, actor), username)
    if not user.active:
        raise Conflict(Message("{name} is deactivated; reactivate them first", name=user.username))
    secret = secrets.token_urlsafe(32)
    now = rt.clock()
    expires = now + timedelta(hours=float(rt.settings.get("PASSWORD_LINK_HOURS", 72)))
    session.add(PasswordLink(user_id=user.id, secret_hash=digest(secret), created_at=now, expires_at=expires))
    record_change(session, rt, actor, "password_link", "user", user.username,
                  common_path([(m.role, m.scope_key) for m in user.memberships]), None,
                  {"password_link_expires": expires.isoformat()})
    session.flush()
    return secret, expires


def link_holder(session: Session, rt: Runtime, secret: str) -> User:
    """The active user a valid, unused link is for; NotFound otherwise (no hint which part failed)."""
    link = _link(session, rt, secret)
    return link.user


def set_password_with_link(session: Session, rt: Runtime, secret: str, password: str, repeated: str) -> User:
    """Set the link's user's password (the link is then spent, with every other link of theirs),
    end their page sessions and record it; InputError names the field of a password too short or
    not repeated the same."""
    link = _link(session, rt, secret)
    minimum = int(rt.settings.get("PASSWORD_MIN_LENGTH", 10))
    errors: dict[str, list] = {}
    if len(password or "") < minimum:
        errors["password"] = [Message("At least {n} characters.", n=minimum)]
    elif len(password) > MAX_PASSWORD:
        errors["password"] = [Message("At most {n} characters.", n=MAX_PASSWORD)]
    elif password != repeated:
        errors["repeated"] = [Message("The two passwords differ.")]
    if errors:
        raise InputError(errors)
    user, now = link.user, rt.clock()
    user.password_hash = hash_password(password)
    session.execute(update(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
                    .values(used_at=now))
    end_sessions(session, user)
    record_change(session, rt, user, "set_password", "user", user.username,
                  common_path([(m.role, m.scope_key) for m in user.memberships]), None, {"password": "set"})
    session.flush()
    return user


def _link(session: Session, rt: Runtime, secret: str) -> PasswordLink:
    link = session.scalars(select(PasswordLink).where(PasswordLink.secret_hash == digest(secret))).first() \
        if secret and len(secret) <= 100 else None
    if link is None or link.used_at is not None or link.expires_at <= rt.clock() or not link.user.active:
        raise NotFound(Message("this link is not valid (used, expired or unknown); ask your administrator "
                               "for a new one"))
    return link
