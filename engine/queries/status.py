"""What an operator's probes ask, at almost no cost: is the process alive (healthz), and can it serve
(readyz: the database answers, its schema is at the code's revision, a process is deployed). Neither
counts cases, so a load balancer may poll them every second at a million cases. And the figures
the metrics endpoint reports, from indexed columns only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from models import Case, ProcessVersion, WebhookDelivery, migrate


@dataclass
class Readiness:
    ready: bool
    database: str           # "ok", or why it did not answer
    schema: str | None      # the database's revision
    expected_schema: str    # the code's revision
    process: str | None     # "grid_case v3", or None before the first deploy


@lru_cache(maxsize=1)
def code_revision() -> str:
    """The code's schema revision (read from the migration scripts once per process)."""
    return migrate.head()


def deployed_process(session: Session, process_key: str) -> str | None:
    """The newest deployed version of ``process_key`` by name, reading two columns of one row."""
    row = session.execute(select(ProcessVersion.key, ProcessVersion.version)
                          .where(ProcessVersion.key == process_key)
                          .order_by(ProcessVersion.version.desc()).limit(1)).first()
    return f"{row.key} v{row.version}" if row else None


def readiness(session: Session, process_key: str) -> Readiness:
    """Whether this process can serve requests now; one indexed row and the revision table are read."""
    expected = code_revision()
    try:
        process = deployed_process(session, process_key)
        versioned = inspect(session.connection()).has_table(migrate.VERSION_TABLE)
        revisions = list(session.scalars(text(f"SELECT version_num FROM {migrate.VERSION_TABLE}"))) if versioned else []
    except DBAPIError as exc:
        session.rollback()
        return Readiness(False, f"unreachable: {type(exc.orig).__name__}", None, expected, None)
    schema = ", ".join(sorted(revisions)) or None
    return Readiness(schema == expected and process is not None, "ok", schema, expected, process)


@dataclass
class OperationalFigures:
    sweep_lag_seconds: float  # age of the oldest due timer not yet fired; 0 when none is due
    due_timers: int
    open_incidents: int
    webhook_backlog: int      # deliveries pending (due or waiting for their retry)
    webhook_failed: int


def operational_figures(session: Session, now: datetime) -> OperationalFigures:
    """What the metrics endpoint reports, from indexed columns only (next_timer_at, the
    partial index of cases with an incident, the deliveries' status)."""
    due = select(Case.next_timer_at).where(Case.next_timer_at < now, Case.incident.is_(None))
    oldest = session.scalar(due.order_by(Case.next_timer_at).limit(1))
    due_count = session.scalar(select(func.count()).select_from(due.subquery())) or 0
    incidents = session.scalar(select(func.count()).select_from(Case).where(Case.incident.is_not(None))) or 0
    deliveries = dict(session.execute(select(WebhookDelivery.status, func.count())
                                      .where(WebhookDelivery.status.in_(("pending", "failed")))
                                      .group_by(WebhookDelivery.status)).all())
    lag = (now - oldest).total_seconds() if oldest is not None else 0.0
    return OperationalFigures(max(lag, 0.0), due_count, incidents, deliveries.get("pending", 0),
                              deliveries.get("failed", 0))
