"""Read one task for its page: the form with values prefilled from the case data."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from models import Task, User

from .errors import NotFound
from .forms import prefill
from .org import may_see_case
from .runtime import Runtime
from .workflow import FormField


@dataclass
class TaskDetails:
    task: Task
    fields: tuple[FormField, ...]
    values: dict[str, Any]


def task_details(session: Session, rt: Runtime, user: User, task_id: int) -> TaskDetails:
    """Return the task's form and its prefilled values; the one place an open task's data is read."""
    task = session.get(Task, task_id)
    if task is None or not may_see_case(user, task.case.scope_path, [task.scope_key]):
        raise NotFound(f"task {task_id} does not exist")
    bundle = rt.bundle(session, task.case.process_version_id)
    node = bundle.node(task.bpmn_id)
    values: dict[str, Any] = {}
    if task.status == "open":
        workflow = rt.workflows.load_state(bundle, task.case.state)
        data = next((t.data for t in rt.workflows.ready_tasks(workflow, bundle) if t.spiff_id == task.spiff_id), {})
        values = prefill(node.fields, data)
    return TaskDetails(task, node.fields, values)
