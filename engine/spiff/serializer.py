"""Serialize specs and instance states in the library's own format, with less work per step.

A case's state is stored without its spec (the spec is 60 % of a naive blob) and restored
onto the spec of its deployed version; finished tasks are memoised between steps.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.task import Task, TaskState

from engine.spiff.parser import RecurringTimerEventDefinition
from engine.spiff.patches import parent_data_copy

if TYPE_CHECKING:
    from engine.spiff.facade import ProcessBundle


class _MemoTaskConverter(TaskConverter):
    """Write and read tasks in the library's format with less work per task.

    A live workflow is serialized after every step, and most of its tasks are finished;
    their dicts only change if their state, timestamp, children or data do, so those are
    the memo key (checked on every use). A finished task read from a stored state keeps
    the dict it was read from as its memo, so a swept case re-serializes only the tasks
    its step touched. Memo dicts are shared with the output: nothing may mutate them.
    Data is stored as the library stores it: the root's in full, every other task's as
    the keys that differ from its parent's plus the keys it dropped.
    """

    _FINISHED = TaskState.COMPLETED | TaskState.CANCELLED

    @staticmethod
    def _memo_key(task, parent):
        return (task._state, task.last_state_change, tuple(task._children), len(task.data),
                len(parent.data) if parent is not None else 0)

    def to_dict(self, task):
        parent = task.workflow.tasks.get(task._parent) if task._parent is not None else None
        if task._state & self._FINISHED:
            key = self._memo_key(task, parent)
            memo = task.__dict__.get("_gridflow_memo")
            if memo is not None and memo[0] == key:
                return memo[1]
        data, delta = task.data, {}
        if parent is not None:
            before = parent.data
            delta = {"updates": {k: v for k, v in data.items() if k not in before or before[k] != v},
                     "deletions": [k for k in before if k not in data]}
            data = {}
        dct = {
            "id": str(task.id),
            "parent": str(task._parent) if parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task._state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data) if task.internal_data else {},
            "data": data,
            "delta": delta,
        }
        if task._state & self._FINISHED:
            task.__dict__["_gridflow_memo"] = (key, dct)
        return dct

    def from_dict(self, dct, workflow, uuids=None):
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"], uuids))
        task._parent = _uuid(dct["parent"], uuids) if dct["parent"] is not None else None
        task._children = [_uuid(child, uuids) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal = dct["internal_data"]
        task.internal_data = self.registry.restore(internal) if internal else {}
        if isinstance(task_spec, CatchingEvent) and task._state & TaskState.WAITING:
            workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = workflow.tasks.get(task._parent) if task._parent is not None else None
        if delta and parent is not None:
            data = parent_data_copy(parent.data)
            updates = delta.get("updates")
            if updates:
                data.update(self.registry.restore(updates))
            for key in delta.get("deletions", ()):
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        if task._state & self._FINISHED:
            dct["typename"] = self.typename
            task.__dict__["_gridflow_memo"] = (self._memo_key(task, parent), dct)
        return task


def _uuid(text: str, uuids: dict | None) -> UUID:
    """Parse a task id once per load (ids recur as parents and children)."""
    if uuids is None:
        return UUID(text)
    value = uuids.get(text)
    if value is None:
        value = uuids[text] = UUID(text)
    return value


class _SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """Serialize instance state without the spec; restore it onto a cached spec."""

    def to_dict(self, workflow):
        # Skip BpmnWorkflowConverter.to_dict: it converts the whole spec (most of the cost).
        # WorkflowConverter.to_dict's fields, with the tasks handed straight to their
        # converter (the registry's generic dispatch, per task, cost as much as the memo saved).
        convert_task = self.registry.convert_to_dict[self.registry.typenames[Task]]
        tasks = {}
        for task in workflow.tasks.values():
            task_dct = convert_task(task)
            tasks[task_dct["id"]] = task_dct
        dct = {
            "data": self.registry.convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": tasks,
            "root": str(workflow.task_tree.id),
        }
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, bundle: ProcessBundle | None = None):
        if bundle is None:
            return super().from_dict(dct)
        workflow = self.target_class(bundle.spec, bundle.subprocess_specs, deserializing=True)
        uuids: dict[str, UUID] = {}
        for value in dct["tasks"].values():  # each restored Task adds itself to workflow.tasks
            self.registry.restore(value, workflow=workflow, uuids=uuids)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"], uuids))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def make_serializer() -> BpmnWorkflowSerializer:
    """Build the serializer for Camunda specs, spec-free states and recurring timers."""
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = _SpecFreeWorkflowConverter
    config[Task] = _MemoTaskConverter
    config[RecurringTimerEventDefinition] = TimerConditionalEventDefinitionConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
