"""Initial codes: how a user the city import created chooses their first password.

An imported user gets no password. They get a random code (99 bits, printed once) that works
once, for INITIAL_CODE_DAYS, and only to choose their own password: they sign in with their
username and the code and are asked for the password they will use. The code is stored as a
one-time set-password link (its SHA-256: a 99-bit random value cannot be guessed from a fast
hash, and a stolen table holds no password anyone chose), so the import writes 20,000 users in
seconds and nobody is left with a printed, admin-known password that works for good.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import PasswordLink, User

from engine.access.accounts import digest

# 31 symbols, none that a printout confuses (0/o, 1/l/i): 20 of them carry 99 random bits.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS, GROUP_SIZE = 5, 4
# The password_hash of a user who has not chosen a password: no password matches it.
NO_PASSWORD = "!"
# Initial passwords of imports before initial codes: "sha256$<salt>$<digest>", moved into
# password_link by migration 0018 so that they, too, only set a password, once, for a while.
LEGACY_PREFIX = "sha256$"


@dataclass(frozen=True)
class InitialCodes:
    """When the codes of one import are issued and how long they work."""

    issued_at: datetime
    valid_for: timedelta

    @classmethod
    def from_settings(cls, settings, now: datetime) -> InitialCodes:
        return cls(now, timedelta(days=float(settings.get("INITIAL_CODE_DAYS", 30))))

    @property
    def expires_at(self) -> datetime:
        return self.issued_at + self.valid_for

    def issue(self, user: User) -> tuple[str, PasswordLink]:
        """A new code for ``user`` and the link row that stores its digest (the caller adds it)."""
        code = new_code()
        return code, PasswordLink(user=user, secret_hash=digest(code), created_at=self.issued_at,
                                  expires_at=self.expires_at)


def spend_links(session: Session, user: User, now: datetime) -> None:
    """Mark every unused initial code and set-password link of ``user`` used: none opens anything
    any more (a password was chosen, or an administrator reset it)."""
    session.execute(update(PasswordLink).where(PasswordLink.user_id == user.id, PasswordLink.used_at.is_(None))
                    .values(used_at=now))


def new_code() -> str:
    """Twenty random symbols in groups of four, e.g. ``k7pq-3xzm-ar9d-uu2e-hw5t``."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_SIZE))
    return "-".join(symbols[i:i + GROUP_SIZE] for i in range(0, len(symbols), GROUP_SIZE))


def canonical(typed: str) -> str:
    """The code as printed, from what someone typed (any case, spaces or dashes anywhere)."""
    symbols = "".join(c for c in typed.lower() if c.isalnum())
    return "-".join(symbols[i:i + GROUP_SIZE] for i in range(0, len(symbols), GROUP_SIZE))


def matching_link(session: Session, user: User, typed: str, now: datetime) -> PasswordLink | None:
    """The unused, unexpired link of ``user`` that ``typed`` opens (an initial code, or an initial
    password of an earlier import), else None."""
    if not typed or len(typed) > 100:
        return None
    links = session.scalars(select(PasswordLink).where(PasswordLink.user_id == user.id,
                                                       PasswordLink.used_at.is_(None),
                                                       PasswordLink.expires_at > now))
    wanted = digest(canonical(typed))
    for link in links:
        if link.secret_hash.startswith(LEGACY_PREFIX):
            if _legacy_matches(link.secret_hash, typed):
                return link
        elif hmac.compare_digest(link.secret_hash, wanted):
            return link
    return None


def _legacy_matches(stored: str, password: str) -> bool:
    _, salt, expected = stored.split("$")
    got = base64.b64encode(hashlib.sha256(base64.b64decode(salt) + password.encode()).digest()).decode()
    return hmac.compare_digest(got, expected)
