"""A user's unread notifications as the notifications page and the menu badge read them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Case, Notification


@dataclass(frozen=True)
class UnreadNotification:
    id: int
    kind: str
    message: str
    case_id: int | None
    case_code: str | None  # None when the notification concerns no case
    created_at: datetime


def unread_notifications(session: Session, user_id: int, limit: int = 100) -> list[UnreadNotification]:
    """Return the user's unread notifications, newest first, each with its case's public code."""
    query = (select(Notification, Case.code).outerjoin(Case, Case.id == Notification.case_id)
             .where(Notification.user_id == user_id, Notification.read_at.is_(None))
             .order_by(Notification.id.desc()).limit(limit))
    return [UnreadNotification(n.id, n.kind, n.message, n.case_id, code, n.created_at)
            for n, code in session.execute(query)]


def unread_count(session: Session, user_id: int) -> int:
    """Return how many notifications the user has not read yet."""
    return session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0
