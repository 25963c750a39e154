"""Who holds a role for a scope: the people a task, a warning or an escalation concerns."""
from __future__ import annotations

import time

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models import Membership, Task

from engine.access.org import scope_covers

_MEMBERS_OF_ROLE = select(Membership.user_id, Membership.scope_key).where(Membership.role == bindparam("role"))

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
