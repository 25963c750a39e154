"""One task: its page (the form with values prefilled from the case data), claiming and assigning."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from models import CaseEvent, Membership, Task, User

from engine.errors import Conflict, Forbidden, InputError, Message, NotFound, PreconditionFailed
from engine.process.forms import Fact, prefill, shown_facts
from engine.access.org import may_see_case, may_take
from engine.lifecycle import cases
from engine.runtime import Runtime
from engine.spiff import FormField
from engine.lifecycle.chain import append_event


@dataclass
class TaskDetails:
    task: Task
    fields: tuple[FormField, ...]
    values: dict[str, Any]
    facts: list[Fact] = field(default_factory=list)
    # (row number, description) of the decision-table rule behind the prefilled recommendation
    rule: tuple[int, str] | None = None
    # True when the user's unit did this task but no longer holds the case (it returned it or
    # lost it by re-dispatch): they see their own task record only, nothing of the case since.
    own_record: bool = False


def task_details(session: Session, rt: Runtime, user: User, task_id: int) -> TaskDetails:
    """Return the task's form, the values its designer declared to prefill, the case facts it shows
    and the rule behind a recommendation (an open task), or what was submitted (a finished one);
    the one place a task's data is read."""
    task = visible_task(session, user, task_id)
    bundle = rt.bundle(session, task.case.process_version_id)
    node = bundle.node(task.bpmn_id)
    details = TaskDetails(task, node.fields, {f.id: f.default for f in node.fields},
                          own_record=not sees_case(session, user, task))
    if task.status != "open":
        submitted = submission(session, task)
        details.values = {f.id: submitted.get(f.id) for f in node.fields if f.id in submitted}
    else:
        workflow = rt.workflows.load_state(bundle, task.case.state)
        data = next((t.data for t in rt.workflows.ready_tasks(workflow, bundle) if t.spiff_id == task.spiff_id), {})
        details.values = prefill(node.fields, data)
        details.facts = shown_facts(node.properties.get("show"), data)
        if node.properties.get("recommendation"):
            details.rule = rt.workflows.matched_rule(bundle, node.properties["recommendation"], data)
    return details


# -- claiming and assigning ----------------------------------------------------------------------
_SET_ASSIGNEE = (update(Task).where(Task.id == bindparam("b_id"), Task.status == "open",
                                    Task.version == bindparam("b_seen"))
                 .values(assignee_id=bindparam("b_to"), version=Task.version + 1))


def visible_task(session: Session, user: User, task_id: int) -> Task:
    """Return the task if the user may see its case, or the task was their unit's (then only its
    own record: :func:`sees_case` says which); otherwise NotFound, so ids do not leak."""
    task = session.get(Task, task_id) if 0 < task_id < 2 ** 63 else None
    if task is None or not may_see_case(user, task.case.scope_path, [task.scope_key]):
        raise NotFound(f"task {task_id} does not exist")
    return task


def sees_case(session: Session, user: User, task: Task) -> bool:
    """Whether the user sees the task's whole case: by its place, or because their unit holds it
    now (an open task, its department). A unit that returned it or lost it by re-dispatch does not."""
    return may_see_case(user, task.case.scope_path, cases.holding_scopes(session, task.case))


def submission(session: Session, task: Task) -> dict[str, Any]:
    """What the person who completed ``task`` submitted (its completion event), {} if nobody did."""
    if task.completed_at is None:
        return {}
    data = session.scalar(select(CaseEvent.data).where(
        CaseEvent.case_id == task.case_id, CaseEvent.kind == "task_completed",
        CaseEvent.task_bpmn_id == task.bpmn_id, CaseEvent.at == task.completed_at).limit(1))
    return dict(data or {})


def task_of_case(session: Session, user: User, case, task_id: int | None, field: str = "task_id") -> Task | None:
    """The task a photo or comment refers to: one of ``case``'s tasks the user sees, else InputError."""
    if task_id is None:
        return None
    try:
        task = visible_task(session, user, task_id)
    except NotFound:
        task = None
    if task is None or task.case_id != case.id:
        raise InputError({field: [f"Case {case.code} has no task {task_id} you can see."]})
    return task


def claim(session: Session, rt: Runtime, user: User, task_id: int, expected_version: int | None = None,
          expected_case_version: int | None = None) -> Task:
    """Take an open task for oneself; someone else's claim first is a Conflict."""
    task = visible_task(session, user, task_id)
    _check_open(task, expected_version, expected_case_version)
    if not may_take(user, task.role, task.scope_key):
        raise Forbidden(f"task {task_id} is for role {task.role} in another scope")
    if excluded(user, task):
        raise Forbidden(f"task {task_id} must be done by someone other than {user.name} (separation of duties)")
    if task.assignee_id == user.id:
        return task
    if task.assignee_id is not None:
        raise Conflict(f"task {task_id} was already claimed by {task.assignee.name}")
    _set_assignee(session, rt, task, user, user, "claimed")
    return task


def unclaim(session: Session, rt: Runtime, user: User, task_id: int, expected_version: int | None = None,
            expected_case_version: int | None = None) -> Task:
    """Give a claimed task back to the pool: its assignee, or someone who may assign it, may."""
    task = visible_task(session, user, task_id)
    _check_open(task, expected_version, expected_case_version)
    if task.assignee_id is None:
        return task
    if task.assignee_id != user.id and not may_assign(rt, user, task):
        raise Forbidden(f"task {task_id} is assigned to {task.assignee.name}; only they or someone who may "
                        f"assign it ({', '.join(rt.policy.assign_roles)}) may release it")
    _set_assignee(session, rt, task, user, None, "unclaimed")
    return task


def assign(session: Session, rt: Runtime, user: User, task_id: int, username: str,
           expected_version: int | None = None, expected_case_version: int | None = None) -> Task:
    """Someone who may assign (policy.toml [assign]) over the task's case or unit hands it to a named person."""
    task = visible_task(session, user, task_id)
    _check_open(task, expected_version, expected_case_version)
    if not may_assign(rt, user, task):
        raise Forbidden(f"only a holder of {', '.join(rt.policy.assign_roles)} over this case may assign its tasks")
    target = session.scalars(select(User).where(User.username == str(username or ""))).first()
    if target is None or not target.active:
        raise InputError({"assignee": [Message("No active user has this username.")]})
    if not may_take(target, task.role, task.scope_key):
        raise InputError({"assignee": [Message("{who} does not hold role {role} for this task's unit.", who=target.name, role=task.role)]})
    if excluded(target, task):
        raise InputError({"assignee": [Message("{who} reported this case and may not take this task "
                                               "(separation of duties).", who=target.name)]})
    if task.assignee_id != target.id:
        _set_assignee(session, rt, task, user, target, "assigned")
    return task


def candidates(session: Session, task: Task) -> list[User]:
    """Active users who may take the task (for the assign list)."""
    if task.scope_key.startswith("dept:"):
        scopes = [task.scope_key]
    else:
        parts = [p for p in task.scope_key.split("/") if p]
        scopes = ["/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
    query = (select(User).join(Membership).where(Membership.role == task.role, Membership.scope_key.in_(scopes),
                                                 User.active.is_(True))
             .distinct().order_by(User.name))
    return [u for u in session.scalars(query) if not excluded(u, task)]


def assignable(session: Session, user: User, task_id: int) -> list[User]:
    """The people the task could go to, for someone who sees its case; NotFound for a unit that
    only keeps its own record of the task (it returned the case or lost it by re-dispatch)."""
    task = visible_task(session, user, task_id)
    if not sees_case(session, user, task):
        raise NotFound(f"task {task_id} does not exist")
    return candidates(session, task)


def excluded(user: User, task: Task) -> bool:
    """Whether the BPMN's ``notBy`` keeps this user off the task (e.g. the reporter of a self-handled case)."""
    return bool(task.not_by) and task.not_by == user.username


def may_assign(rt: Runtime, user: User, task: Task) -> bool:
    """True when the user holds an assigning role (policy.toml [assign]) over the task's case or unit."""
    return any(may_take(user, role, task.case.scope_path) or may_take(user, role, task.scope_key)
               for role in rt.policy.assign_roles)


def _check_open(task: Task, expected_version: int | None, expected_case_version: int | None = None) -> None:
    """A stale version the caller names is PreconditionFailed; a task that is no longer open, Conflict."""
    if expected_case_version is not None and task.case.version != expected_case_version:
        raise PreconditionFailed(f"case {task.case.code} changed (version {task.case.version}, "
                                 f"you saw {expected_case_version})")
    if expected_version is not None and task.version != expected_version:
        raise PreconditionFailed(f"task {task.id} changed (version {task.version}, you saw {expected_version})")
    if task.status != "open":
        who = task.completed_by.name if task.completed_by else "the process"
        raise Conflict(f"task {task.id} is no longer open (completed or withdrawn by {who})")


def release_held_tasks(session: Session, rt: Runtime, actor: User, holder: User, reason: str) -> list[Task]:
    """Give every open task ``holder`` has claimed back to the pool, each with a timeline event
    naming who held it and why (e.g. their account was deactivated)."""
    held = list(session.scalars(select(Task).where(Task.assignee_id == holder.id, Task.status == "open")
                                .order_by(Task.id)))
    for task in held:
        _set_assignee(session, rt, task, actor, None, "released", {"from": holder.name, "reason": reason})
    return held


def _set_assignee(session: Session, rt: Runtime, task: Task, actor: User, target: User | None, kind: str,
                  extra: dict | None = None) -> None:
    result = session.execute(_SET_ASSIGNEE, {"b_id": task.id, "b_seen": task.version,
                                             "b_to": target.id if target else None})
    if result.rowcount != 1:
        raise Conflict(f"task {task.id} was changed by someone else; reload and try again")
    session.expire(task, ["assignee_id", "version", "assignee"])
    case = task.case
    data = {"task_id": task.id, **(extra or {})}
    if target is not None and target.id != actor.id:
        data["to"] = target.name
    append_event(session, case.id, at=rt.clock(), actor_id=actor.id, kind=kind,
                 task_bpmn_id=task.bpmn_id, task_name=task.name,
                 from_stage=case.stage, to_stage=case.stage, data=data)
