"""Passwords (scrypt) and API tokens (stored as SHA-256 only)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import ApiToken, User

from .errors import NotFound
from .runtime import Runtime

_N, _R, _P = 2 ** 14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                               p=int(p), dklen=32)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, rt: Runtime, username: str, name: str = "") -> str:
    """Create an API token for ``username``; return the token, which is shown only once."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    token = "gf_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name, created_at=rt.clock()))
    session.flush()
    return token


LAST_USED_RESOLUTION = timedelta(minutes=1)


def user_for_token(session: Session, rt: Runtime, token: str) -> User | None:
    """Return the active user owning an unrevoked token, else None.

    The token's last use is recorded at most once a minute, in its own short transaction,
    so a read-only request never holds a write lock or leaves the request's session dirty.
    """
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).first()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = rt.clock()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        with session.get_bind().begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return row.user
