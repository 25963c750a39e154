"""The one facade over SpiffWorkflow: parse, start, step, complete, message, serialize.

Longer than our other modules on purpose: it is the only module allowed to import the library.

No other module imports SpiffWorkflow, so a library upgrade touches this file only. The
facade speaks in plain values (dicts, dataclasses, bytes); callers never see Spiff objects
other than the opaque workflow and bundle handles they pass back in.
"""
from __future__ import annotations

import ast
import json
import logging
import time
import zlib
from copy import copy

import orjson
from dataclasses import dataclass, field
from functools import lru_cache
from types import MethodType, SimpleNamespace
from datetime import datetime, timedelta
from typing import Any, Callable
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import EventDefinitionParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, IntermediateThrowEvent, ReceiveTask
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaEventDefinitionParser,
    CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG as CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.task import Task, TaskState
from lxml import etree

from engine import clock
from engine.spiff.sandbox import TEMPLATE_FIELD, ExpressionError, Namespace


class _EngineDatetime(datetime):
    """Spiff's timers call datetime.now(timezone.utc) themselves; give them the engine's clock."""

    @classmethod
    def now(cls, tz=None):
        current = clock.now()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _EngineDatetime


_task_logger = logging.getLogger("spiff.task")
_library_set_state = Task._set_state


def _set_state(self, value: int) -> None:
    """Task._set_state without building its log record's extras when nobody logs them.

    The library collects a dict of task details for every state change (a dozen per task
    run) before handing it to ``logger.info``, whatever the log level.
    """
    if _task_logger.isEnabledFor(logging.INFO):
        _library_set_state(self, value)
    elif value != self._state:
        self.last_state_change = time.time()
        self._state = value


Task._set_state = _set_state
_library_inherit_data = Task._inherit_data
_MUTABLE = (dict, list, set)


def _inherit_data(self) -> None:
    """Task._inherit_data with a fast path for a task that has no data of its own yet.

    The library deep-merges the parent's data into the task's; into an empty dict that merge
    copies each value (shallow copies of dicts, lists and sets), which is what this does
    without comparing every key first. A new task (the usual case) takes this path.
    """
    if self.data:
        _library_inherit_data(self)
    else:
        self.data = {k: (copy(v) if isinstance(v, _MUTABLE) else v) for k, v in self.parent.data.items()}


Task._inherit_data = _inherit_data



class RecurringTimerEventDefinition(CycleTimerEventDefinition):
    """A timeCycle whose expression is evaluated again after every firing.

    The library evaluates a cycle once and then adds its interval on the plain clock. Here
    each evaluation of the expression (an ISO repeating interval ``R[n]/<start>/<interval>``)
    gives the next firing as its start, so an expression over the business calendar, such
    as ``every(hours=2, after=handle_due)``, fires every two *working* hours, and a task
    that is entered again arms its cycle at the next step still ahead, not at the first.
    A start that is not ahead of the last firing (a fixed date, ``R3/PT2H`` read late) falls
    back to adding the interval on the plain clock. ``n`` counts firings of one arming.
    """

    def _evaluate(self, my_task):
        text = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        try:
            return TimerEventDefinition.parse_iso_recurring_interval(str(text))
        except Exception as exc:  # noqa: BLE001 - the library raises bare Exceptions here
            raise ProcessError(f"timeCycle {self.expression!r} gave {text!r}, not an ISO repeating "
                               f"interval like R/2026-11-25T17:30:00+08:00/PT2H: {exc}",
                               element=my_task.task_spec.bpmn_id) from None

    def cycle_complete(self, my_task):
        value = my_task._get_internal_data("event_value")
        if value is None:
            cycles, start, interval = self._evaluate(my_task)
            value = {"cycles": cycles, "next": start.isoformat(), "duration": interval.total_seconds()}
        fired = False
        if value["cycles"] != 0:
            due, now = datetime.fromisoformat(value["next"]), clock.now()
            if due < now:
                fired = True
                value["cycles"] -= 1 if value["cycles"] > 0 else 0
                _, start, interval = self._evaluate(my_task)
                step = max(interval.total_seconds(), 60.0)
                while start <= now:  # never schedule into the past: no burst of catch-up firings
                    start = max(start, due) + timedelta(seconds=step)
                value["next"] = start.isoformat()
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        my_task._set_internal_data(event_value=value)
        return fired


_TIMER_TYPES = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition",
                "RecurringTimerEventDefinition"}


class ProcessError(ValueError):
    """A process file cannot be parsed, or a step of a case failed inside the process."""

    def __init__(self, message: str, *, file: str | None = None, element: str | None = None):
        super().__init__(message)
        self.file = file
        self.element = element

    def __str__(self):
        where = ", ".join(x for x in (self.file, self.element and f"element {self.element}") if x)
        return f"{self.args[0]} ({where})" if where else self.args[0]


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    type: str
    default: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    constraints: tuple[tuple[str, str | None], ...] = ()
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Node:
    """What the engine needs to know of one BPMN element."""

    bpmn_id: str
    name: str
    kind: str
    lane: str | None
    properties: dict[str, str] = field(default_factory=dict)
    form_key: str = ""
    fields: tuple[FormField, ...] = ()


@dataclass(frozen=True)
class ReadyTask:
    spiff_id: str
    node: Node
    data: dict[str, Any]


@dataclass(frozen=True)
class Effect:
    """A flow element with an ``effect`` property that ran during a step (e.g. overdue)."""

    kind: str
    bpmn_id: str
    name: str
    properties: dict[str, str]


@dataclass
class Snapshot:
    """A workflow after a step: READY user tasks, message waits, whether it ended, its data."""

    ready: list[ReadyTask]
    waiting: list[Node]
    completed: bool
    data: dict[str, Any]


@dataclass
class ProcessBundle:
    """A parsed process: the top-level spec and the specs of its subprocesses."""

    key: str
    spec: Any
    subprocess_specs: dict[str, Any]
    _nodes: dict[str, Node] = field(default_factory=dict)

    def node(self, bpmn_id: str) -> Node | None:
        return self._nodes.get(bpmn_id)

    def nodes(self) -> list[Node]:
        return list(self._nodes.values())


def _parse_timer_event(self, event):
    # A timeCycle becomes a RecurringTimerEventDefinition; timeDate and timeDuration as usual.
    definition = EventDefinitionParser.parse_timer_event(self, event)
    if type(definition) is CycleTimerEventDefinition:
        definition = RecurringTimerEventDefinition(definition.name, definition.expression,
                                                   description=definition.description)
    return definition


# Spiff reads camunda:properties on tasks only; events carry them too in gridflow
# (a waiting state's stage, a timer path's effect).
class _PropertiesCatchEventParser(CamundaIntermediateCatchEventParser):
    parse_extensions = CamundaTaskParser.parse_extensions
    parse_timer_event = _parse_timer_event


class _PropertiesThrowEventParser(CamundaIntermediateThrowEventParser):
    parse_extensions = CamundaTaskParser.parse_extensions


class _PropertiesBoundaryEventParser(CamundaBoundaryEventParser):
    parse_extensions = CamundaTaskParser.parse_extensions
    parse_timer_event = _parse_timer_event


class _PropertiesReceiveTaskParser(CamundaEventDefinitionParser, ReceiveTaskParser):
    parse_extensions = CamundaTaskParser.parse_extensions


class _Parser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("intermediateCatchEvent"): (_PropertiesCatchEventParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_PropertiesThrowEventParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (_PropertiesBoundaryEventParser, BoundaryEvent),
        # A receive task is a message wait that can carry boundary timers (a window to answer).
        full_tag("receiveTask"): (_PropertiesReceiveTaskParser, ReceiveTask),
    }


class _Environment(BasePythonScriptEngineEnvironment):
    def __init__(self, namespace: Namespace):
        super().__init__({})
        self.namespace = namespace

    def evaluate(self, expression, context, external_context=None):
        return self.namespace.evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        self.namespace.execute(script, context, external_context)
        return True


class _ScriptEngine(PythonScriptEngine):
    @staticmethod
    @lru_cache(maxsize=8192)
    def _parses(text: str) -> bool:
        try:
            ast.parse(text)
            return True
        except SyntaxError:
            return False

    def validate(self, expression):
        # The DMN engine re-parses every cell on every evaluation to decide whether to add
        # '=='; the answer never changes for a given text, so remember it.
        if not self._parses(expression):
            ast.parse(expression)  # raise the real SyntaxError


class _FirstHitDMNEngine(DMNEngine):
    """Stop at the first matching rule under hit policy FIRST (the library checks them all)."""

    def decide(self, task):
        if self.decision_table.hit_policy != "FIRST":
            return super().decide(task)
        for rule in self.decision_table.rules:
            if self._DMNEngine__check_rule(rule, task):
                return [rule]
        return []


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
            # The library's DeepMerge.merge({}, parent.data): a copy, mutable values one level deep.
            mutable = _MUTABLE
            data = {k: copy(v) if isinstance(v, mutable) else v for k, v in parent.data.items()}
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


def _serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = _SpecFreeWorkflowConverter
    config[Task] = _MemoTaskConverter
    config[RecurringTimerEventDefinition] = TimerConditionalEventDefinitionConverter
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


class WorkflowEngine:
    """Run BPMN/DMN processes for gridflow; ``functions(data)`` supplies expression helpers."""

    STATE_FORMAT = b"Z1"  # zlib-compressed JSON, spec left out

    def __init__(self, functions: Callable[[dict], dict[str, Any]]):
        self.namespace = Namespace(functions)
        self.script_engine = _ScriptEngine(environment=_Environment(self.namespace))
        self.serializer = _serializer()

    # -- parsing ---------------------------------------------------------------------------
    def parse(self, files: dict[str, str]) -> dict[str, ProcessBundle]:
        """Parse BPMN and DMN sources (file name → text); return every executable process."""
        parser = _Parser()
        for name, text in sorted(files.items()):
            try:
                root = etree.fromstring(text.encode("utf-8"))
            except etree.XMLSyntaxError as exc:
                raise ProcessError(f"not well-formed XML: {exc}", file=name) from None
            try:
                if name.endswith(".dmn"):
                    parser.add_dmn_xml(root, filename=name)
                elif name.endswith(".bpmn"):
                    parser.add_bpmn_xml(root, filename=name)
            except ValidationException as exc:
                raise ProcessError(str(exc.args[0] if exc.args else exc), file=name,
                                   element=getattr(exc, "id", None)) from None
            except Exception as exc:  # noqa: BLE001 - the library raises many kinds
                raise ProcessError(f"{type(exc).__name__}: {exc}", file=name) from None
        bundles = {}
        for key in parser.get_process_ids():
            try:
                spec = parser.get_spec(key)
                subs = parser.get_subprocess_specs(key)
            except ValidationException as exc:
                raise ProcessError(str(exc.args[0] if exc.args else exc),
                                   file=getattr(exc, "file_name", None),
                                   element=getattr(exc, "id", None)) from None
            except (SpiffWorkflowException, KeyError, ValueError) as exc:
                raise ProcessError(f"process {key}: {exc}") from None
            bundles[key] = self._bundle(key, spec, subs)
        return bundles

    def _bundle(self, key, spec, subs) -> ProcessBundle:
        bundle = ProcessBundle(key, spec, subs)
        for s in [spec, *subs.values()]:
            for ts in s.task_specs.values():
                if isinstance(getattr(ts, "dmnEngine", None), DMNEngine):
                    ts.dmnEngine.__class__ = _FirstHitDMNEngine
                bpmn_id = getattr(ts, "bpmn_id", None)
                if bpmn_id:
                    bundle._nodes[bpmn_id] = _node(ts)
        return bundle

    def dump_spec(self, bundle: ProcessBundle) -> str:
        return json.dumps({
            "key": bundle.key,
            "spec": self.serializer.to_dict(bundle.spec),
            "subprocess_specs": {k: self.serializer.to_dict(v) for k, v in bundle.subprocess_specs.items()},
        })

    def load_spec(self, text: str) -> ProcessBundle:
        dct = json.loads(text)
        spec = self.serializer.from_dict(dct["spec"])
        subs = {k: self.serializer.from_dict(v) for k, v in dct["subprocess_specs"].items()}
        return self._bundle(dct["key"], spec, subs)

    def boundary_timers(self, bundle: ProcessBundle) -> dict[str, list[tuple[str, str]]]:
        """Map each task to its boundary timers as (timer id, timeDate expression)."""
        timers: dict[str, list[tuple[str, str]]] = {}
        for ts in bundle.spec.task_specs.values():
            event = getattr(ts, "event_definition", None)
            if not (isinstance(event, TimerEventDefinition) and getattr(ts, "cancel_activity", None) is not None):
                continue
            # A boundary event's input is the "<task>.BoundaryEventSplit" of the task it guards.
            host = ts.inputs[0].name.split(".")[0] if ts.inputs else None
            if host:
                timers.setdefault(host, []).append((ts.bpmn_id, event.expression))
        return timers

    # -- running ---------------------------------------------------------------------------
    def start(self, bundle: ProcessBundle, data: dict[str, Any]):
        workflow = _tune(BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=self.script_engine))
        workflow.task_tree.data.update(data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        self._advance(workflow)
        return workflow

    def snapshot(self, workflow, bundle: ProcessBundle) -> Snapshot:
        """Read what a step left behind in one pass over the tasks (no tree walks)."""
        ready, waiting = [], []
        unfinished = False  # what workflow.is_completed() finds with a tree walk, from this pass
        for wf in (workflow, *workflow.subprocesses.values()):
            main = wf is workflow
            for task in wf.tasks.values():
                state = task.state
                if main and not unfinished and state & _NOT_FINISHED:
                    unfinished = True
                if state == TaskState.READY and task.task_spec.manual:
                    ready.append(ReadyTask(str(task.id), bundle.node(task.task_spec.bpmn_id), task.data))
                elif state == TaskState.WAITING and isinstance(
                        getattr(task.task_spec, "event_definition", None), MessageEventDefinition):
                    node = bundle.node(task.task_spec.bpmn_id)
                    if node:
                        waiting.append(node)
        completed = not unfinished
        return Snapshot(ready, waiting, completed, self._data(workflow, completed))

    def path_taken(self, workflow) -> tuple[list[str], list[tuple[str, str]]]:
        """The BPMN ids of the elements the case has passed through, and the (from, to) pairs of
        the steps between them, for drawing the path on the diagram."""
        done, steps = [], set()
        for wf in (workflow, *workflow.subprocesses.values()):
            for task in wf.tasks.values():
                bpmn_id = getattr(task.task_spec, "bpmn_id", None)
                if bpmn_id is None or task.state != TaskState.COMPLETED:
                    continue
                done.append(bpmn_id)
                parent = task.parent
                parent_id = getattr(parent.task_spec, "bpmn_id", None) if parent is not None else None
                if parent_id and parent.state == TaskState.COMPLETED:
                    steps.add((parent_id, bpmn_id))
        return sorted(set(done)), sorted(steps)

    def ready_tasks(self, workflow, bundle: ProcessBundle) -> list[ReadyTask]:
        """Return the READY user tasks."""
        return self.snapshot(workflow, bundle).ready

    def complete(self, workflow, spiff_id: str, data: dict[str, Any]) -> list[Effect]:
        """Merge ``data`` into a READY user task, complete it and run the engine to the next wait."""
        task = self._ready_task(workflow, spiff_id)
        task.data.update(data)
        effects: list[Effect] = []
        try:
            task.run()
            _engine_steps(workflow, _collector(effects))
        except (SpiffWorkflowException, ExpressionError) as exc:
            raise _step_error(exc) from None
        return effects

    def send_message(self, workflow, name: str, payload: dict[str, Any]) -> list[Effect]:
        """Deliver a message to this workflow; raise ProcessError if nothing waits for it."""
        event = BpmnEvent(MessageEventDefinition(name), payload={"payload": payload, "result_var": name})
        try:
            workflow.send_event(event)
        except WorkflowException as exc:
            raise ProcessError(str(exc)) from None
        return self._advance(workflow)

    def fire_timers(self, workflow) -> list[Effect]:
        """Fire every timer that is due now and run the engine to the next wait."""
        return self._advance(workflow)

    def waiting_nodes(self, workflow, bundle: ProcessBundle) -> list[Node]:
        """Return the catch events that wait for a message (not timers)."""
        return self.snapshot(workflow, bundle).waiting

    def next_timer_at(self, workflow) -> datetime | None:
        """Return the earliest due time of a pending timer, or None."""
        times = []
        for event in workflow.waiting_events():
            value = event.value
            if event.event_type in _TIMER_TYPES and isinstance(value, str):
                try:
                    times.append(datetime.fromisoformat(value))
                except (TypeError, ValueError):
                    continue
        return min(times) if times else None

    def data(self, workflow) -> dict[str, Any]:
        """Return the workflow's result data once completed, else the latest task data."""
        return self._data(workflow, workflow.is_completed())

    @staticmethod
    def _data(workflow, completed: bool) -> dict[str, Any]:
        if completed:
            return workflow.data
        last = workflow.last_task
        return last.data if last is not None else workflow.task_tree.data

    def matched_rule(self, bundle: ProcessBundle, bpmn_id: str, data: dict[str, Any]) -> tuple[int, str] | None:
        """Return (row number, description) of the decision-table rule that business-rule task
        ``bpmn_id`` picks for ``data``, so a person can see why it recommends what it does."""
        spec = next((ts for ts in bundle.spec.task_specs.values() if getattr(ts, "bpmn_id", None) == bpmn_id), None)
        engine = getattr(spec, "dmnEngine", None)
        if not isinstance(engine, DMNEngine):
            return None
        # The DMN engine reads only a task's data and its workflow's script engine.
        probe = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=self.script_engine),
                                task_spec=spec)
        try:
            rules = engine.decide(probe)
        except Exception:  # noqa: BLE001 - an explanation that fails is left out, never fatal
            return None
        return (rules[0].row_number, rules[0].description or "") if rules else None

    def evaluate(self, expression: str, data: dict[str, Any]):
        try:
            return self.namespace.evaluate(expression, dict(data))
        except ExpressionError:
            raise
        except Exception as exc:  # noqa: BLE001 - designer expression failed
            raise ProcessError(f"expression {expression!r} failed: {type(exc).__name__}: {exc}") from None

    # -- state -----------------------------------------------------------------------------
    def dump_state(self, workflow) -> bytes:
        dct = self.serializer.to_dict(workflow)
        dct[self.serializer.VERSION_KEY] = self.serializer.VERSION
        raw = orjson.dumps(dct, option=orjson.OPT_NON_STR_KEYS)
        return self.STATE_FORMAT + zlib.compress(raw, 1)

    def load_state(self, bundle: ProcessBundle, state: bytes):
        if not state.startswith(self.STATE_FORMAT):
            raise ProcessError("unknown instance state format")
        dct = orjson.loads(zlib.decompress(state[len(self.STATE_FORMAT):]))
        self.serializer.migrate(dct)
        workflow = self.serializer.from_dict(dct, bundle=bundle)
        workflow.script_engine = self.script_engine
        return _tune(workflow)

    # -- helpers ---------------------------------------------------------------------------
    def _ready_task(self, workflow, spiff_id: str):
        try:
            task = workflow.get_task_from_id(UUID(spiff_id))
        except (ValueError, WorkflowException, KeyError):
            task = None
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise ProcessError(f"task {spiff_id} is not waiting for input")
        return task

    def _advance(self, workflow) -> list[Effect]:
        effects: list[Effect] = []
        try:
            workflow.refresh_timers()
            _engine_steps(workflow, _collector(effects))
        except (SpiffWorkflowException, ExpressionError) as exc:
            raise _step_error(exc) from None
        return effects


def _flat_update_waiting_tasks(workflow) -> None:
    # The library re-checks every WAITING task after every task completes, finding them by
    # walking the whole tree; a pass over the task dict (creation order) finds the same ones.
    waiting = TaskState.WAITING
    for task in [t for t in workflow.tasks.values() if t.state == waiting]:
        task.task_spec._update(task)


def _tune(workflow):
    """Give a workflow the flat WAITING-task refresh (top-level workflows without subprocesses)."""
    if not workflow.subprocesses:
        workflow.update_waiting_tasks = MethodType(_flat_update_waiting_tasks, workflow)
    return workflow


def _engine_steps(workflow, did_complete) -> None:
    """Run READY engine tasks (scripts, gateways, events) until only waits are left.

    Same outcome as BpmnWorkflow.do_engine_steps, which walks the whole task tree once per
    round; with every finished task kept in the tree (rework loops, timers) those walks
    became most of a step's cost. A flat pass over the task dict finds the same READY tasks.
    Workflows with subprocesses take the library's path.
    """
    if workflow.subprocesses:
        workflow.do_engine_steps(did_complete_task=did_complete)
        return
    ready_state = TaskState.READY
    while True:
        ready = [t for t in workflow.tasks.values() if t.state == ready_state and not t.task_spec.manual]
        if not ready:
            break
        for task in ready:
            if task.state == ready_state:  # an earlier one in this round may have cancelled it
                task.run()
                did_complete(task)
    workflow.refresh_timers()


_NOT_FINISHED = TaskState.NOT_FINISHED_MASK


def _timer_kind(spec) -> str | None:
    """"date", "cycle" or None for a task spec; worked out once per spec (this runs per task)."""
    kind = spec.__dict__.get("_gridflow_timer", False)
    if kind is False:
        event = getattr(spec, "event_definition", None)
        kind = ("cycle" if isinstance(event, CycleTimerEventDefinition)
                else "date" if isinstance(event, TimerEventDefinition) else None)
        spec.__dict__["_gridflow_timer"] = kind
    return kind


def _collector(effects: list[Effect]):
    def collect(task):
        # Not effects: tell the caller which timers fired (recorded with the sweep's step). A
        # date timer completes; a cycle stays armed and starts its path again each time, so
        # its firing shows as a new first task below it.
        timer = None
        if _timer_kind(task.task_spec) == "date":
            timer = task.task_spec
        elif task.parent is not None and _timer_kind(task.parent.task_spec) == "cycle":
            timer = task.parent.task_spec
        if timer is not None:
            effects.append(Effect(TIMER_FIRED, timer.bpmn_id, timer.bpmn_name or timer.bpmn_id, {}))
        props = getattr(task.task_spec, "extensions", None)
        if props and props.get("effect"):
            props = dict(props)
            if props.get("notify"):  # the name of a scope variable: resolve it now
                props["notify_scope"] = task.data.get(props["notify"])
            if props.get("message"):  # a template over the case data, filled by the engine
                names = set(TEMPLATE_FIELD.findall(props["message"]))
                props["data"] = {name: task.data.get(name) for name in names}
            effects.append(Effect(props["effect"], task.task_spec.bpmn_id,
                                  task.task_spec.bpmn_name or task.task_spec.bpmn_id, props))
    return collect


TIMER_FIRED = "timer_fired"


def _step_error(exc: Exception) -> ProcessError:
    task = getattr(exc, "task", None)
    element = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    detail = str(exc)
    inner = getattr(exc, "error_type", None)
    return ProcessError(f"{detail}" + (f" [{inner}]" if inner and inner not in detail else ""), element=element)


def _node(ts) -> Node:
    kind = type(ts).__name__
    fields: tuple[FormField, ...] = ()
    form_key = ""
    if isinstance(ts, UserTask):
        kind = "userTask"
        form_key = ts.form.key or ""
        fields = tuple(
            FormField(
                id=f.id, label=f.label or f.id, type=f.type or "string", default=f.default_value,
                options=tuple((o.id, o.name) for o in getattr(f, "options", [])),
                constraints=tuple((v.name, v.config) for v in f.validation),
                properties=tuple((p.id, p.value) for p in f.properties),
            )
            for f in ts.form.fields
        )
    elif isinstance(getattr(ts, "event_definition", None), MessageEventDefinition):
        kind = "messageCatchEvent"
    elif isinstance(getattr(ts, "event_definition", None), TimerEventDefinition):
        kind = "timerEvent"
    return Node(bpmn_id=ts.bpmn_id, name=ts.bpmn_name or ts.bpmn_id, kind=kind, lane=ts.lane,
                properties=dict(getattr(ts, "extensions", None) or {}), form_key=form_key, fields=fields)
