"""What the case page and the task page show, each gathered in one call: the case or task, its
history, open work, photos, comments and the names the page needs to label them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from models import Attachment, Case, CaseEvent, Comment, Department, ProcessVersion, Task, User

from engine.access.org import may_take
from engine.lifecycle import attachments, cases, comments, satisfaction, tasks
from engine.lifecycle.satisfaction import Satisfaction
from engine.process.forms import Fact
from engine.queries import directory
from engine.queries.board import SUPERVISION
from engine.runtime import Runtime
from engine.spiff import FormField, Node


@dataclass(frozen=True)
class SupervisionStep:
    """One task of a 督办 (the order, a reply, a review), with what was submitted in it."""

    task: Task
    node: Node | None
    answers: dict[str, Any]     # the submitted form, as the completion recorded it
    facts: dict[str, Any]       # the order's facts kept on the task (late stage, addressee, level, reply due)


def open_and_supervision_tasks(session: Session, rt: Runtime, case: Case) -> tuple[list[Task], list[Task]]:
    """The case's open tasks (by id), and in the same query its 督办 tasks: the rows read, for
    :func:`supervision_steps`."""
    stages = rt.policy.board_stages(SUPERVISION)
    rows = list(session.scalars(select(Task).options(joinedload(Task.completed_by))
                                .where(Task.case_id == case.id, or_(Task.status == "open", Task.stage.in_(stages)))
                                .order_by(Task.id)))
    return [t for t in rows if t.status == "open"], rows


def supervision_steps(session: Session, rt: Runtime, case: Case, events: list[CaseEvent],
                      tasks: list[Task]) -> list[SupervisionStep]:
    """Every task of the case's 督办, oldest first; one ended by the case's closing is there as
    cancelled. ``tasks``: the rows :func:`open_and_supervision_tasks` read."""
    stages = rt.policy.board_stages(SUPERVISION)
    if not stages:
        return []
    rows = sorted((t for t in tasks if t.stage in stages), key=lambda t: (t.created_at, t.id))
    done = {(e.task_bpmn_id, e.at): e for e in events if e.kind == "task_completed"}
    bundle = rt.bundle(session, case.process_version_id)
    steps = []
    for task in rows:
        event = done.get((task.bpmn_id, task.completed_at)) if task.completed_at else None
        steps.append(SupervisionStep(task, bundle.node(task.bpmn_id), dict(event.data) if event else {},
                                     dict(task.facts or {})))
    return steps


@dataclass(frozen=True)
class CaseView:
    """A case as its page shows it; ``path`` is what the diagram marks (JSON-ready)."""

    case: Case
    events: list[tuple[CaseEvent, Node | None]]
    open_tasks: list[Task]
    attachments: list[Attachment]
    comments: list[Comment]
    duplicates: list[Case]
    department: Department | None
    departments: dict[str, Department]
    version: ProcessVersion
    path: dict[str, list]
    photo_stages: dict[int, str] = field(default_factory=dict)
    satisfaction: Satisfaction | None = None  # the closing's one rating, with the callback's and the resident's
    supervision: list[SupervisionStep] = field(default_factory=list)

    @property
    def emergency(self) -> bool:
        """Whether the case's clocks run on plain time (24/7) rather than working time."""
        return bool(self.case.category and self.case.category.emergency)


def case_view(session: Session, rt: Runtime, user: User, code: str, now: datetime) -> CaseView:
    """Return everything the case page shows, or NotFound when the case is outside the user's scope."""
    case = cases.get_case(session, user, code)
    bundle = rt.bundle(session, case.process_version_id)
    open_tasks, tasks = open_and_supervision_tasks(session, rt, case)
    done, steps = rt.workflows.path_taken(rt.workflows.load_state(bundle, case.state))
    departments = {d.code: d for d in directory.departments(session)}
    path = {"done": done, "steps": steps, "current": sorted({t.bpmn_id for t in open_tasks}),
            "overdue": sorted({t.bpmn_id for t in open_tasks if t.due_at and t.due_at <= now})}
    photos = attachments.list_attachments(session, case)
    events = cases.timeline(session, case)
    return CaseView(
        case=case, photo_stages=photo_stages(session, photos), supervision=supervision_steps(session, rt, case, events=events, tasks=tasks),
        events=[(e, bundle.node(e.task_bpmn_id) if e.task_bpmn_id else None) for e in events],
        open_tasks=open_tasks,
        attachments=photos,
        comments=comments.list_comments(session, case),
        duplicates=list(session.scalars(select(Case).where(Case.duplicate_of_id == case.id).order_by(Case.id))),
        department=departments.get(case.department_code),
        departments=departments,
        version=session.get(ProcessVersion, case.process_version_id),
        path=path, satisfaction=satisfaction.of_case(session, case))


@dataclass(frozen=True)
class TaskView:
    """A task as its page shows it: the form, who may act on it, and its case's photos and comments."""

    task: Task
    fields: tuple[FormField, ...]
    values: dict[str, Any]
    may_take: bool
    candidates: list[User]
    attachments: list[Attachment]
    comments: list[Comment]
    department: Department | None
    facts: list[Fact] = field(default_factory=list)
    rule: tuple[int, str] | None = None
    photo_stages: dict[int, str] = field(default_factory=dict)
    departments: list[Department] = field(default_factory=list)
    own_record: bool = False  # the user's unit did this task and no longer holds the case

    @property
    def case(self) -> Case:
        return self.task.case

    @property
    def emergency(self) -> bool:
        return bool(self.case.category and self.case.category.emergency)


def task_view(session: Session, rt: Runtime, user: User, task_id: int) -> TaskView:
    """Return everything the task page shows; a shift leader over an open task also gets the people
    they may assign it to. NotFound when the task is outside the user's scope."""
    details = tasks.task_details(session, rt, user, task_id)
    task, case = details.task, details.task.case
    if details.own_record:
        # Only what the unit did itself: its submission, and the photos and comments of this task.
        photos = [a for a in attachments.list_attachments(session, case) if a.task_id == task.id]
        return TaskView(task=task, fields=details.fields, values=details.values, may_take=False, candidates=[],
                        attachments=photos, department=None, own_record=True,
                        comments=[c for c in comments.list_comments(session, case) if c.task_id == task.id],
                        photo_stages=photo_stages(session, photos))
    leads = tasks.may_assign(rt, user, task)
    department = (session.scalars(select(Department).where(Department.code == case.department_code)).first()
                  if case.department_code else None)
    photos = attachments.list_attachments(session, case)
    picks_department = any(dict(f.properties).get("widget") == "department" for f in details.fields)
    return TaskView(
        task=task, fields=details.fields, values=details.values,
        may_take=may_take(user, task.role, task.scope_key) and not tasks.excluded(user, task),
        candidates=tasks.candidates(session, task) if leads and task.status == "open" else [],
        attachments=photos,
        comments=comments.list_comments(session, case),
        department=department, facts=details.facts, rule=details.rule,
        photo_stages=photo_stages(session, photos),
        departments=directory.departments(session, active_only=True) if picks_department else [])


def photo_stages(session: Session, photos: list[Attachment]) -> dict[int, str]:
    """Map each photo to the stage of the task it was taken in, or the stage the case waited in when
    the reporter sent it (a supplement); "reported" when it came with the report."""
    ids = {a.task_id for a in photos if a.task_id}
    stages = {row[0]: row[1] for row in session.execute(select(Task.id, Task.stage).where(Task.id.in_(ids)))} if ids else {}
    return {a.id: stages.get(a.task_id, "reported") if a.task_id else (a.stage or "reported") for a in photos}
