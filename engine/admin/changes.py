"""The change log: every administrative change with who, when, the old and the new values; and the
history an administrator reads of their scope, filtered."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from models import AdminChange, User

from engine.admin.scope import AdminScope, admin_scope
from engine.errors import InputError, Message
from engine.runtime import Runtime

TARGET_KINDS = ("user", "org_unit", "department", "category", "city")
MAX_HISTORY = 200


def record_change(session: Session, rt: Runtime, actor: User | None, action: str, kind: str, code: str,
                  scope_path: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> AdminChange:
    """Append one change to the log, in the caller's transaction."""
    row = AdminChange(at=rt.clock(), actor_id=actor.id if actor else None, action=action, target_kind=kind,
                      target_code=code, scope_path=scope_path, old=old, new=new)
    session.add(row)
    return row


@dataclass(frozen=True)
class HistoryFilter:
    kind: str | None = None
    code: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class History:
    items: list[AdminChange]
    total: int
    limit: int
    offset: int


def history(session: Session, rt: Runtime, actor: User, f: HistoryFilter) -> History:
    """Changes in the actor's scope, newest first: those under their subtrees, and (for an
    administrator of the whole tree) the district-wide ones too."""
    scope = admin_scope(session, rt, actor)
    if f.kind is not None and f.kind not in TARGET_KINDS:
        raise InputError({"kind": [Message("Must be one of: {choices}.", choices=", ".join(TARGET_KINDS))]})
    query = select(AdminChange).options(joinedload(AdminChange.actor))
    query = query.where(_in_scope(scope))
    if f.kind:
        query = query.where(AdminChange.target_kind == f.kind)
    if f.code:
        query = query.where(AdminChange.target_code == f.code)
    if f.actor:
        query = query.where(AdminChange.actor_id.in_(select(User.id).where(User.username == f.actor)))
    if f.since:
        query = query.where(AdminChange.at >= f.since)
    if f.until:
        query = query.where(AdminChange.at < f.until)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    limit = max(1, min(f.limit, MAX_HISTORY))
    items = list(session.scalars(query.order_by(AdminChange.at.desc(), AdminChange.id.desc())
                                 .limit(limit).offset(f.offset)))
    return History(items, total or 0, limit, f.offset)


def _in_scope(scope: AdminScope):
    conditions = [AdminChange.scope_path.startswith(p, autoescape=True) for p in scope.paths]
    if scope.top:
        conditions.append(AdminChange.scope_path == "")
    return or_(*conditions)
