"""In-app notifications: who hears about a warning, an overdue stage or an escalation."""
from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from models import Membership, Notification, Task

from engine.spiff import TEMPLATE_FIELD
from engine.access.org import scope_covers

_MEMBERS_OF_ROLE = select(Membership.user_id, Membership.scope_key).where(Membership.role == bindparam("role"))
_INSERT = insert(Notification.__table__)

STAGE_NAMES = {"accept": "受理", "dispatch": "派遣", "sign": "签收", "handle": "处置", "verify": "核查",
               "close": "结案", "feedback": "反馈", "callback": "回访", "extension": "延期审批"}
MESSAGES = {
    "warning": "案件 {code} 的{stage}环节即将到期，请尽快办理。",
    "overdue": "案件 {code} 的{stage}环节已超期。",
    "escalated": "案件 {code} 已超期未办结，升级督办（{level}）。",
}


ROLE_CACHE_SECONDS = 30.0  # a membership change reaches notifications within this time


def members(session: Session, role: str, scope: str, *, exact: bool = False,
            cache: dict | None = None) -> set[int]:
    """Users holding ``role`` for ``scope`` (or, unless exact, any unit above it).

    ``cache`` (the runtime's) keeps each role's memberships for ROLE_CACHE_SECONDS.
    """
    now = time.monotonic()
    cached = cache.get(role) if cache is not None else None
    if cached is None or now - cached[0] > ROLE_CACHE_SECONDS:
        cached = (now, session.execute(_MEMBERS_OF_ROLE, {"role": role}).all())
        if cache is not None:
            cache[role] = cached
    return {uid for uid, scope_key in cached[1] if (scope_key == scope if exact else scope_covers(scope_key, scope))}


def task_people(session: Session, tasks: list[Task], cache: dict | None = None) -> set[int]:
    """The assignee of each task, or everyone who may take it when nobody has claimed it."""
    people: set[int] = set()
    for task in tasks:
        if task.assignee_id is not None:
            people.add(task.assignee_id)
        else:
            people |= members(session, task.role, task.scope_key, cache=cache)
    return people


def rows(user_ids: set[int], *, case_id: int | None, kind: str, message: str, now: datetime) -> list[dict]:
    """Notification rows for these users, to be written with :func:`send`."""
    return [{"user_id": uid, "case_id": case_id, "kind": kind, "message": message, "created_at": now}
            for uid in sorted(user_ids)]


def send(session: Session, notification_rows: list[dict]) -> None:
    if notification_rows:
        session.connection().execute(_INSERT, notification_rows)


def fill(template: str, data: dict) -> str:
    """Fill ``{name}`` placeholders from case data (names only; a missing one becomes empty)."""
    return TEMPLATE_FIELD.sub(lambda m: "" if data.get(m.group(1)) is None else str(data[m.group(1)]), template)


def message_for(kind: str, code: str, stage: str | None = None, level: str | None = None) -> str:
    return MESSAGES[kind].format(code=code, stage=STAGE_NAMES.get(stage or "", stage or ""),
                                 level={"community": "社区", "street": "街道", "district": "区"}.get(level or "", level or ""))


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
