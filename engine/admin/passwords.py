"""One-time set-password links: an administrator makes one for a user (instead of telling them a
password), the user opens it and chooses their own. Only the secret's SHA-256 is stored; a link
works once, until PASSWORD_LINK_HOURS after it was made, and only for an active user. An imported
user's initial code (engine/access/initial.py) is such a link, opened by signing in with it."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import PasswordLink, User

from engine.access.accounts import digest, end_sessions, hash_password
from engine.access.initial import matching_link, spend_links
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
    return _choose_password(session, rt, _link(session, rt, secret), password, repeated)


def initial_code_holder(session: Session, rt: Runtime, username: str, code: str) -> User | None:
    """The active user named ``username`` whose unused initial code (or other unused link) is
    ``code``, else None: signing in with it leads to choosing a password, not into the pages."""
    link = _code_link(session, rt, username, code)
    return link.user if link is not None else None


def set_password_with_code(session: Session, rt: Runtime, username: str, code: str, password: str,
                           repeated: str) -> User:
    """Set the password of the user whose initial code this is, as set_password_with_link does."""
    link = _code_link(session, rt, username, code)
    if link is None:
        raise NotFound(Message("this code is not valid (used, expired or unknown); ask your administrator "
                               "for a set-password link"))
    return _choose_password(session, rt, link, password, repeated)


def _code_link(session: Session, rt: Runtime, username: str, code: str) -> PasswordLink | None:
    user = session.scalars(select(User).where(User.username == username)).first() if username else None
    if user is None or not user.active:
        return None
    return matching_link(session, user, code, rt.clock())


def _choose_password(session: Session, rt: Runtime, link: PasswordLink, password: str, repeated: str) -> User:
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
    spend_links(session, user, now)
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
