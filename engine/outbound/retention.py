"""Retention: read notifications and finished webhook deliveries are deleted after a while, so
these tables stay the size of recent work (the case's events are the lasting record)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker

from models import IntakeKey, Notification, WebhookDelivery

from engine.runtime import Runtime


@dataclass
class Pruned:
    notifications: int = 0
    deliveries: int = 0
    intake_keys: int = 0


def prune(sessions: sessionmaker, rt: Runtime) -> Pruned:
    """Delete notifications read more than NOTIFICATION_RETENTION_DAYS ago, and deliveries
    delivered or given up more than WEBHOOK_RETENTION_DAYS ago, and reports' idempotency keys
    older than INTAKE_KEY_RETENTION_DAYS (0 keeps them for good)."""
    now, pruned = rt.clock(), Pruned()
    notices = float(rt.settings.get("NOTIFICATION_RETENTION_DAYS") or 0)
    deliveries = float(rt.settings.get("WEBHOOK_RETENTION_DAYS") or 0)
    keys = float(rt.settings.get("INTAKE_KEY_RETENTION_DAYS") or 0)
    with sessions() as session:
        if notices > 0:
            pruned.notifications = session.execute(delete(Notification).where(
                Notification.read_at < now - timedelta(days=notices))).rowcount or 0
        if deliveries > 0:
            cutoff = now - timedelta(days=deliveries)
            pruned.deliveries = session.execute(delete(WebhookDelivery).where(
                WebhookDelivery.status.in_(("delivered", "failed")), WebhookDelivery.created_at < cutoff,
                WebhookDelivery.next_attempt_at < cutoff)).rowcount or 0
        if keys > 0:
            pruned.intake_keys = session.execute(delete(IntakeKey).where(
                IntakeKey.created_at < now - timedelta(days=keys))).rowcount or 0
        session.commit()
    return pruned
