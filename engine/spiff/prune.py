"""Keep a long-late case's workflow state small: finished paths of repeating timers are dropped."""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import TaskState


def prune_repeats(workflow) -> None:
    """Drop the finished paths a repeating timer started, but the latest, and its extra joins.

    A cycle timer (an escalation every two working hours) stays armed and, each time it fires,
    adds under itself a new path (gateway, throw event, end event, each task a full copy of the
    case's data) and a new instance of the join that waits for the task it is attached to
    (SpiffWorkflow's cycle timer adds a child for every output of the event, and the boundary
    event's join is one). SpiffWorkflow keeps finished tasks for good, and the join instances
    wait until the task ends, when the first to fire cancels the others: a case late for weeks
    carried hundreds of them in its state. Nothing reads them (the case's events are the record;
    the latest path still shows on the diagram), so each step removes all finished paths but the
    latest and all waiting join instances but the first, with the library's own task removal.
    A path still running, failed, or holding a sub-process is kept.
    """
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in list(wf.tasks.values()):
            if not isinstance(getattr(task.task_spec, "event_definition", None), CycleTimerEventDefinition):
                continue
            children = task.children
            finished = [child for child in children if _finished_branch(child, workflow.subprocesses)]
            joins = [child for child in children if isinstance(child.task_spec, Join)
                     and child.has_state(TaskState.NOT_FINISHED_MASK) and not child.children]
            for old in finished[:-1] + joins[1:]:
                wf._remove_task(old.id)


def _finished_branch(task, subprocesses) -> bool:
    todo = [task]
    while todo:
        current = todo.pop()
        if current.state not in (TaskState.COMPLETED, TaskState.CANCELLED) or current.id in subprocesses:
            return False
        todo.extend(current.children)
    return True
