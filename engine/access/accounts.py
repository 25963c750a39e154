"""Passwords (scrypt) and API tokens (stored as SHA-256 only)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from models import ApiToken, User

from engine.errors import Forbidden, InputError, NotFound
from engine.runtime import Runtime

_N, _R, _P = 2 ** 14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash uses another scheme or weaker parameters than hash_password does now."""
    parts = stored.split("$")
    return len(parts) != 6 or parts[0] != "scrypt" or parts[1:4] != [str(_N), str(_R), str(_P)]


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


def digest(secret: str) -> str:
    """What is stored of an API token, an Open311 key or a tracking secret: its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(session: Session, rt: Runtime, username: str, name: str = "") -> str:
    """Create an API token for ``username``; return the token, which is shown only once."""
    return _new_token(session, rt, _user_named(session, username), name)[1]


def _user_named(session: Session, username) -> User:
    user = session.scalars(select(User).where(User.username == str(username))).first()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def _new_token(session: Session, rt: Runtime, user: User, name: str) -> tuple[ApiToken, str]:
    token = "gf_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=digest(token), name=name, created_at=rt.clock())
    session.add(row)
    session.flush()
    return row, token


# -- managing tokens: each user their own; an admin anyone's ------------------------------------
MAX_TOKEN_NAME = 100


def _owner_for(session: Session, rt: Runtime, actor: User, username: str | None) -> User:
    """The user whose tokens ``actor`` means: themself, or (policy.toml [administer] only) the named user."""
    if username is None or username == actor.username:
        return actor
    if not rt.policy.administers(actor):
        raise Forbidden("only an admin may manage another user's tokens")
    return _user_named(session, username)


def list_tokens(session: Session, rt: Runtime, actor: User, username: str | None = None) -> list[ApiToken]:
    """Tokens of the actor (or, for an admin, of ``username``), newest first, revoked ones too."""
    owner = _owner_for(session, rt, actor, username)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def create_token(session: Session, rt: Runtime, actor: User, name: str = "",
                 username: str | None = None) -> tuple[ApiToken, str]:
    """Issue a token for the actor (or, for an admin, for ``username``); the secret is returned once.

    The token carries no roles of its own: whoever holds it acts as its user, with that
    user's memberships at the time of each request.
    """
    label = (name or "").strip()
    if len(label) > MAX_TOKEN_NAME:
        raise InputError({"name": [f"At most {MAX_TOKEN_NAME} characters."]})
    owner = _owner_for(session, rt, actor, username)
    if not owner.active:
        raise InputError({"user": ["This user is deactivated."]})
    return _new_token(session, rt, owner, label)


def revoke_token(session: Session, rt: Runtime, actor: User, token_id: int) -> ApiToken:
    """Revoke one token of the actor's (an admin: anyone's); revoking twice keeps the first time."""
    row = session.get(ApiToken, token_id) if 0 < token_id < 2 ** 63 else None
    if row is None or (row.user_id != actor.id and not rt.policy.administers(actor)):
        raise NotFound(f"token {token_id} does not exist")
    if row.revoked_at is None:
        row.revoked_at = rt.clock()
        session.flush()
    return row


LAST_USED_RESOLUTION = timedelta(minutes=1)


def user_for_token(session: Session, rt: Runtime, token: str) -> User | None:
    """Return the active user owning an unrevoked token, else None.

    The token's last use is recorded at most once a minute, in its own short transaction,
    so a read-only request never holds a write lock or leaves the request's session dirty.
    """
    # The token, its user and the user's memberships in one query.
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest(token))
                          .options(joinedload(ApiToken.user).joinedload(User.memberships))).unique().first()
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = rt.clock()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        with session.get_bind().begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return row.user


# -- signing in to the pages -----------------------------------------------------------------
# A well-formed hash no password matches: checked for unknown names so that timing does not
# tell which names exist.
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


def sign_in(session: Session, username: str, password: str) -> User | None:
    """Return the active user with this name and password, else None (whichever part was wrong).

    A password stored under outdated parameters is hashed again with the current ones.
    """
    user = session.scalars(select(User).where(User.username == username)).first() if username else None
    # A user without a password yet (an initial code) costs the same scrypt: timing tells nothing.
    stored = user.password_hash if user and user.password_hash.startswith("scrypt$") else _DUMMY_HASH
    ok = check_password(stored, password) and stored is not _DUMMY_HASH
    if not (ok and user is not None and user.active):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def end_sessions(session: Session, user: User) -> None:
    """Invalidate every page session of ``user``: cookies issued before no longer sign them in."""
    session.execute(update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1))


def user_by_id(session: Session, user_id: int) -> User | None:
    """Return the signed-in user of a session cookie, or None when they no longer exist or are deactivated."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None


def set_locale(session: Session, user: User, lang: str) -> None:
    """Remember the language ``user`` chose for the pages (the caller checked it is offered)."""
    user.locale = lang
    session.flush()
