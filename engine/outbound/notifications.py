"""In-app notifications: write the notices a step produced, list and mark them read."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from models import Notification, User

_INSERT = insert(Notification.__table__)


def deliver(session: Session, step) -> None:
    """Write one in-app notification per person told of each of the step's notices, in that
    person's language (their account's locale, else the notice's default). A notice with a
    topic is written only to those not yet told of that topic on this case."""
    now, case_id = step.at, step.case.id
    ids = sorted({uid for notice in step.notices for uid in notice.user_ids})
    if not ids:
        return
    locales = dict(session.execute(select(User.id, User.locale).where(User.id.in_(ids))).all())
    topics = {n.topic for n in step.notices if n.topic and n.user_ids}
    told = set(session.execute(select(Notification.topic, Notification.user_id).where(
        Notification.case_id == case_id, Notification.topic.in_(topics))).all()) if topics else set()
    rows = [{"user_id": uid, "case_id": case_id, "kind": notice.kind, "topic": notice.topic,
             "message": notice.text_for(locales.get(uid)), "created_at": now}
            for notice in step.notices for uid in sorted(notice.user_ids)
            if notice.topic is None or (notice.topic, uid) not in told]
    if rows:
        session.connection().execute(_INSERT, rows)


def unread(session: Session, user_id: int, limit: int = 50) -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user_id,
                                                           Notification.read_at.is_(None))
                                .order_by(Notification.id.desc()).limit(limit)))


def mark_read(session: Session, user_id: int, ids: list[int], now: datetime) -> int:
    """Mark the user's own notifications read; return how many changed."""
    result = session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.id.in_(ids), Notification.read_at.is_(None))
        .values(read_at=now))
    return result.rowcount
