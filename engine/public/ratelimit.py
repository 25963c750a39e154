"""Fixed-window request counting per client address, kept in the database.

The counters live in the database so that every process of a multi-process ``serve`` (gunicorn)
shares them; one upsert per limited request, in its own short transaction. A fixed window lets
a client send up to twice the limit across a window boundary; for intake and tracking pages
that is acceptable and much simpler than a sliding log.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import sessionmaker

from models import RateLimitWindow

from engine.settings import SettingsError

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RULE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)\s*$")


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets (when not allowed)


def parse_limit(rule: str | None) -> Limit | None:
    """Read "20/minute"; an empty rule means no limit."""
    if not rule:
        return None
    match = _RULE.match(str(rule))
    if not match or int(match.group(1)) < 1:
        raise SettingsError(f"rate limit {rule!r}: write <count>/<second|minute|hour|day>, e.g. 20/minute")
    return Limit(int(match.group(1)), _PERIODS[match.group(2)])


def hit(sessions: sessionmaker, limit: Limit, key: str, now: datetime) -> Verdict:
    """Count one request for ``key`` in the current window; say whether it is within the limit."""
    epoch = int(now.timestamp())
    window = epoch // limit.seconds
    window_end = (window + 1) * limit.seconds
    expires = now + timedelta(seconds=window_end - epoch)
    table = RateLimitWindow.__table__
    with sessions() as session, session.begin():
        dialect = session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        stmt = (insert.values(key=key[:200], window=window, count=1, expires_at=expires)
                .on_conflict_do_update(index_elements=["key", "window"], set_={"count": table.c.count + 1})
                .returning(table.c.count))
        count = session.execute(stmt).scalar_one()
        if count == 1:  # first request of a window: drop windows that have ended (any client)
            session.execute(delete(table).where(table.c.expires_at < now))
    return Verdict(count <= limit.count, max(1, window_end - epoch))
