"""Whose administrator the actor is: the org subtrees of their admin memberships, and whether one
of them is the top of the tree (departments, categories and the city import are district-wide)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OrgUnit, User

from engine.errors import Forbidden, Message
from engine.runtime import Runtime


@dataclass(frozen=True)
class AdminScope:
    actor: User
    paths: tuple[str, ...]
    top: bool

    def covers(self, path: str) -> bool:
        """Whether an org path (a unit's, or a change's) lies in the actor's subtrees."""
        return any(path.startswith(p) for p in self.paths)

    def covers_key(self, scope_key: str) -> bool:
        """Whether a membership scope is the actor's to grant: a unit of theirs, or (top only) a department."""
        return self.top if scope_key.startswith("dept:") else self.covers(scope_key)

    def manages(self, user: User) -> bool:
        """A user is the actor's to manage when every membership they hold is in the actor's scope
        (a user without memberships only at the top), so no admin reaches into another street."""
        keys = [m.scope_key for m in user.memberships]
        return all(self.covers_key(k) for k in keys) if keys else self.top

    def require_top(self) -> None:
        if not self.top:
            raise Forbidden(Message("only an administrator of the whole district may change this"))


def admin_scope(session: Session, rt: Runtime, actor: User) -> AdminScope:
    """The actor's scope as an administrator; Forbidden when they hold no administering role."""
    policy = rt.policy
    paths = tuple(m.scope_key for m in actor.memberships
                  if m.role in policy.admin_roles and not m.scope_key.startswith("dept:"))
    if not paths:
        raise Forbidden(Message("only an administrator may manage users and the city's data"))
    levels = set(session.scalars(select(OrgUnit.level).where(OrgUnit.path.in_(paths))))
    return AdminScope(actor, paths, bool(levels & set(policy.admin_wide_levels)))


def is_administrator(rt: Runtime, actor: User) -> bool:
    return any(m.role in rt.policy.admin_roles and not m.scope_key.startswith("dept:") for m in actor.memberships)
