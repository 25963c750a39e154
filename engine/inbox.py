"""Inbox queries: open tasks whose role and scope match a user's memberships, read from the task table."""
from __future__ import annotations

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session, joinedload

from models import Case, Task, User


def _scope_clause(scope_key: str):
    if scope_key.startswith("dept:"):
        return Task.scope_key == scope_key
    return Task.scope_key.startswith(scope_key, autoescape=True)


def inbox_query(user: User):
    """Return a select of the user's open tasks (unassigned or assigned to them), least time left first."""
    matches = [and_(Task.role == m.role, _scope_clause(m.scope_key)) for m in user.memberships]
    return (select(Task)
            .where(Task.status == "open", or_(*matches) if matches else false(),
                   or_(Task.assignee_id.is_(None), Task.assignee_id == user.id))
            .order_by(Task.due_at.is_(None), Task.due_at, Task.id))


def inbox(session: Session, user: User, *, limit: int = 50, offset: int = 0) -> list[Task]:
    query = inbox_query(user).options(joinedload(Task.case).joinedload(Case.category)).limit(limit).offset(offset)
    return list(session.scalars(query))


def task_form(session: Session, rt, task: Task):
    """Return the form fields of a task, from the cached process spec (no workflow is loaded)."""
    node = rt.bundle(session, task.case.process_version_id).node(task.bpmn_id)
    return node.fields if node else ()
