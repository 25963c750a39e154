"""What an operator checks first: is the database reachable, which process version runs, how many cases."""
from __future__ import annotations

from dataclasses import dataclass

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Case, WebhookDelivery

from engine.process.deploy import latest_version


@dataclass
class SystemStatus:
    process: str | None
    cases_by_status: dict[str, int]


def system_status(session: Session, process_key: str) -> SystemStatus:
    version = latest_version(session, process_key)
    counts = dict(session.execute(select(Case.status, func.count()).group_by(Case.status)).all())
    return SystemStatus(f"{version.key} v{version.version}" if version else None, counts)


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
