"""The one facade over SpiffWorkflow: parse, start, step, complete, message, serialize.

No module outside engine/spiff imports SpiffWorkflow, so a library upgrade touches this
package only. The facade speaks in plain values (dicts, dataclasses, bytes); callers never
see Spiff objects other than the opaque workflow and bundle handles they pass back in.
Importing it applies gridflow's changes to the library (patches.py), which first checks
that the installed version is one they were written for.

About 580 lines on purpose: WorkflowEngine is the whole surface the rest of the engine sees
(parse, run, serialize, read or move a stored state without running it, and replay recorded
steps in memory for a simulation), and splitting its
methods across modules would hide that surface; the work behind them is in parser.py,
serializer.py, patches.py, prune.py and migration.py.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from uuid import UUID

import orjson
from lxml import etree
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.task import TaskState

from engine.spiff import migration, patches
from engine.spiff.migration import SpecMapping, Unfit
from engine.spiff.parser import (FORCED_FIRING, TIMER_TYPES, Parser, decision_outputs, matched_rule, timer_kind,
                                 use_first_hit)
from engine.spiff.patches import engine_steps, tune
from engine.spiff.prune import prune_repeats
from engine.spiff.sandbox import ExpressionError, Namespace, ScriptEngine
from engine.spiff.serializer import make_serializer

patches.apply()

class ProcessError(ValueError):
    """A process file cannot be parsed, or a step of a case failed inside the process."""

    def __init__(self, message: str, *, file: str | None = None, element: str | None = None):
        super().__init__(message)
        self.file = file
        self.element = element

    def __str__(self):
        where = ", ".join(x for x in (self.file, self.element and f"element {self.element}") if x)
        return f"{self.args[0]} ({where})" if where else self.args[0]


class NotWaiting(ProcessError):
    """Nothing in the workflow waits for the message that was sent (not a failure of the process)."""


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
    message: str = ""  # the name of the message a catch event or receive task waits for


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
class MovedState:
    """A stored state rewritten for another version: what stops it (then ``state`` is None), or
    the new state with its READY user tasks (spiff id, node) and message waits."""

    problems: list[Unfit]
    state: bytes | None
    ready: list[tuple[str, Node]]
    waiting: list[Node]


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


class WorkflowEngine:
    """Run BPMN/DMN processes for gridflow; ``functions(data)`` supplies expression helpers."""

    STATE_FORMAT = b"Z1"  # zlib-compressed JSON, spec left out

    def __init__(self, functions: Callable[[dict], dict[str, Any]],
                 decision_hook: Callable[[str, dict], dict] | None = None):
        self.namespace = Namespace(functions)
        self.script_engine = ScriptEngine(self.namespace)
        # Sees (and may replace) what each business-rule task decides: a simulation's replay only.
        self.script_engine.decision_hook = decision_hook
        self.serializer = make_serializer()

    # -- parsing ---------------------------------------------------------------------------
    def parse(self, files: dict[str, str]) -> dict[str, ProcessBundle]:
        """Parse BPMN and DMN sources (file name → text); return every executable process."""
        parser = Parser()
        for name, text in sorted(files.items()):
            try:
                parser.add_file(name, text)
            except etree.XMLSyntaxError as exc:
                raise ProcessError(f"not well-formed XML: {exc}", file=name) from None
            except ValidationException as exc:
                raise _invalid(exc, name) from None
            except Exception as exc:  # noqa: BLE001 - the library raises many kinds
                raise ProcessError(f"{type(exc).__name__}: {exc}", file=name) from None
        bundles = {}
        for key in parser.get_process_ids():
            try:
                spec = parser.get_spec(key)
                subs = parser.get_subprocess_specs(key)
            except ValidationException as exc:
                raise _invalid(exc, getattr(exc, "file_name", None)) from None
            except (SpiffWorkflowException, KeyError, ValueError) as exc:
                raise ProcessError(f"process {key}: {exc}") from None
            bundles[key] = self._bundle(key, spec, subs)
        return bundles

    def _bundle(self, key, spec, subs) -> ProcessBundle:
        bundle = ProcessBundle(key, spec, subs)
        for s in [spec, *subs.values()]:
            for ts in s.task_specs.values():
                use_first_hit(ts)
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
        """Read a spec written by :meth:`dump_spec`; raise ProcessError when it cannot be read."""
        try:
            dct = json.loads(text)
            spec = self.serializer.from_dict(dct["spec"])
            subs = {k: self.serializer.from_dict(v) for k, v in dct["subprocess_specs"].items()}
            key = dct["key"]
        except Exception as exc:  # noqa: BLE001 - corrupt text, or another library version's format
            raise ProcessError(f"stored spec cannot be read: {type(exc).__name__}: {exc}") from None
        return self._bundle(key, spec, subs)

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
    def start(self, bundle: ProcessBundle, data: dict[str, Any], ran: list[str] | None = None):
        """Start a workflow (``ran`` gets the BPMN ids of what ran, for a simulation's replay)."""
        workflow = tune(BpmnWorkflow(bundle.spec, bundle.subprocess_specs, script_engine=self.script_engine))
        workflow.task_tree.data.update(data)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        self._advance(workflow, ran=ran)
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
        done, steps = self.transitions(workflow)
        return sorted(done), sorted(steps)

    def transitions(self, workflow) -> tuple[set[str], set[tuple[str, str]]]:
        """The BPMN ids the case has passed through, and each (from, to) pair of BPMN elements it
        went along: an element it has reached (completed, or waiting in it now) and the nearest
        element before it, looking past the library's own specs between them (the split a
        task's boundary events hang from), so that every pair a sequence flow joins is there (the
        diagram's marks, a scenario run's flow coverage)."""
        done, steps = set(), set()
        for wf in (workflow, *workflow.subprocesses.values()):
            for task in wf.tasks.values():
                bpmn_id = getattr(task.task_spec, "bpmn_id", None)
                if bpmn_id is None or not task.state & _REACHED:
                    continue
                if task.state == TaskState.COMPLETED:
                    done.add(bpmn_id)
                parent = task.parent
                while parent is not None and getattr(parent.task_spec, "bpmn_id", None) is None:
                    parent = parent.parent
                # Reached, not completed: a cycle timer stays armed while the paths it starts run.
                if parent is not None and parent.state & _REACHED:
                    steps.add((parent.task_spec.bpmn_id, bpmn_id))
        return done, steps

    def ready_tasks(self, workflow, bundle: ProcessBundle) -> list[ReadyTask]:
        """Return the READY user tasks."""
        return self.snapshot(workflow, bundle).ready

    def complete(self, workflow, spiff_id: str, data: dict[str, Any], ran: list[str] | None = None) -> list[Effect]:
        """Merge ``data`` into a READY user task, complete it and run the engine to the next wait."""
        task = self._ready_task(workflow, spiff_id)
        task.data.update(data)
        if ran is not None:
            ran.append(task.task_spec.bpmn_id)
        return self._advance(workflow, first=task.run, ran=ran)

    def send_message(self, workflow, name: str, payload: dict[str, Any], ran: list[str] | None = None) -> list[Effect]:
        """Deliver a message to this workflow; raise ProcessError if nothing waits for it."""
        event = BpmnEvent(MessageEventDefinition(name), payload={"payload": payload, "result_var": name})
        try:
            workflow.send_event(event)
        except WorkflowException as exc:
            raise NotWaiting(str(exc)) from None
        return self._advance(workflow, ran=ran)

    def fire_timers(self, workflow) -> list[Effect]:
        """Fire every timer that is due now and run the engine to the next wait."""
        return self._advance(workflow)

    def waiting_nodes(self, workflow, bundle: ProcessBundle) -> list[Node]:
        """Return the catch events that wait for a message (not timers)."""
        return self.snapshot(workflow, bundle).waiting

    def message_waits(self, workflow, bundle: ProcessBundle) -> list[tuple[Node, dict[str, Any]]]:
        """Return each element waiting for a message with the case data it waits with."""
        waits = []
        for wf in (workflow, *workflow.subprocesses.values()):
            for task in wf.tasks.values():
                if task.state == TaskState.WAITING and isinstance(
                        getattr(task.task_spec, "event_definition", None), MessageEventDefinition):
                    node = bundle.node(task.task_spec.bpmn_id)
                    if node:
                        waits.append((node, task.data))
        return waits

    def next_timer_at(self, workflow) -> datetime | None:
        """Return the earliest due time of a pending timer, or None."""
        times = []
        for event in workflow.waiting_events():
            value = event.value
            if event.event_type in TIMER_TYPES and isinstance(value, str):
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
        return matched_rule(spec, data, self.script_engine) if spec is not None else None

    def decide(self, bundle: ProcessBundle, bpmn_id: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """Return the outputs business-rule task ``bpmn_id`` would set for ``data`` ({} when no rule
        matches); None when the bundle has no such task; ProcessError when the table fails."""
        spec = self._specs(bundle).get(bpmn_id)
        if spec is None:
            return None
        try:
            return decision_outputs(spec, data, self.script_engine)
        except Exception as exc:  # noqa: BLE001 - the DMN engine raises many kinds
            raise ProcessError(f"decision of {bpmn_id} failed: {type(exc).__name__}: {exc}", element=bpmn_id) from None

    @staticmethod
    def _specs(bundle: ProcessBundle) -> dict[str, Any]:
        specs = bundle.__dict__.get("_by_bpmn_id")
        if specs is None:
            specs = bundle.__dict__["_by_bpmn_id"] = {
                ts.bpmn_id: ts for ts in bundle.spec.task_specs.values() if getattr(ts, "bpmn_id", None)}
        return specs

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
        workflow = self.serializer.from_dict(self._state_dict(state), bundle=bundle)
        workflow.script_engine = self.script_engine
        return tune(workflow)

    def missing_task_specs(self, bundle: ProcessBundle, state: bytes) -> set[str]:
        """Return the task specs a stored state uses that ``bundle`` does not define (empty: it fits)."""
        dct = self._state_dict(state)
        known = set(bundle.spec.task_specs).union(*(s.task_specs for s in bundle.subprocess_specs.values()))
        used = {t["task_spec"] for t in dct["tasks"].values()}
        for sub in dct.get("subprocesses", {}).values():
            used |= {t["task_spec"] for t in sub.get("tasks", {}).values()}
        return used - known

    def spec_mapping(self, old: ProcessBundle, new: ProcessBundle, chosen: dict[str, str]) -> SpecMapping:
        """Align version ``old``'s tasks with ``new``'s: by id, by the flow around a renamed one,
        and by ``chosen`` (old id → new id), which wins."""
        return migration.map_specs(self.serializer.registry, old, new, chosen)

    def migration_problems(self, state: bytes, mapping: SpecMapping) -> list[Unfit]:
        """Say what stops a stored state from moving under ``mapping`` (empty: it can move)."""
        return migration.unfit(self._state_dict(state), mapping)

    def migrate_state(self, bundle: ProcessBundle, state: bytes, mapping: SpecMapping) -> MovedState:
        """Rewrite a stored state for ``bundle`` without running it (a move changes no task's
        state, data or timer); say what stops it instead when it cannot move."""
        dct = self._state_dict(state)
        problems = migration.unfit(dct, mapping)
        if problems:
            return MovedState(problems, None, [], [])
        if migration.rewrite(dct, mapping):
            dct[self.serializer.VERSION_KEY] = self.serializer.VERSION
            state = self.STATE_FORMAT + zlib.compress(orjson.dumps(dct, option=orjson.OPT_NON_STR_KEYS), 1)
        return MovedState([], state, *self._waits(bundle, dct))

    def waits(self, bundle: ProcessBundle, state: bytes) -> tuple[list[tuple[str, Node]], list[Node]]:
        """The READY user tasks (spiff id, node) and message waits of a stored state, as :meth:`snapshot`
        lists them, read without loading the workflow."""
        return self._waits(bundle, self._state_dict(state))

    @staticmethod
    def _waits(bundle: ProcessBundle, dct: dict) -> tuple[list[tuple[str, Node]], list[Node]]:
        specs = bundle.spec.task_specs
        ready, waiting = [], []
        for tasks in (dct["tasks"], *(sub.get("tasks", {}) for sub in dct.get("subprocesses", {}).values())):
            for tid, task in tasks.items():
                spec = specs.get(task["task_spec"])
                if spec is None:
                    continue
                if task["state"] == TaskState.READY and spec.manual:
                    ready.append((tid, bundle.node(spec.bpmn_id)))
                elif task["state"] == TaskState.WAITING and isinstance(
                        getattr(spec, "event_definition", None), MessageEventDefinition):
                    node = bundle.node(spec.bpmn_id)
                    if node:
                        waiting.append(node)
        return ready, waiting

    def _state_dict(self, state: bytes) -> dict:
        if not state.startswith(self.STATE_FORMAT):
            raise ProcessError("unknown instance state format")
        dct = orjson.loads(zlib.decompress(state[len(self.STATE_FORMAT):]))
        self.serializer.migrate(dct)
        return dct

    # -- helpers ---------------------------------------------------------------------------
    def _ready_task(self, workflow, spiff_id: str):
        try:
            task = workflow.get_task_from_id(UUID(spiff_id))
        except (ValueError, WorkflowException, KeyError):
            task = None
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise ProcessError(f"task {spiff_id} is not waiting for input")
        return task

    def _advance(self, workflow, first: Callable[[], Any] | None = None,
                 ran: list[str] | None = None) -> list[Effect]:
        """Run ``first`` (a task's completion; else a refresh of the timers), then the engine to the
        next wait; return the effects that ran (and add the BPMN ids of what ran to ``ran``)."""
        effects: list[Effect] = []
        try:
            (first or workflow.refresh_timers)()
            engine_steps(workflow, _collector(effects, ran))
        except (SpiffWorkflowException, ExpressionError) as exc:
            raise _step_error(exc) from None
        prune_repeats(workflow)
        return effects

    # -- replaying recorded steps in memory (simulation) --------------------------------------
    # A replay runs on a WorkflowEngine of its own (its functions read the replay's clock), inside
    # engine.clock.held(...) before any due time, so that no timer fires by itself: only the ones history fired.
    def armed_timers(self, workflow) -> set[str]:
        """The BPMN ids of the timers waiting to fire."""
        return {t.task_spec.bpmn_id for t in workflow.tasks.values()
                if t.state == TaskState.WAITING and timer_kind(t.task_spec) is not None}

    def replay_timers(self, workflow, bpmn_ids: list[str]) -> list[str]:
        """Fire exactly these armed timers, whatever their due times; return what ran."""
        wanted = set(bpmn_ids)
        for task in workflow.tasks.values():
            if task.state == TaskState.WAITING and task.task_spec.bpmn_id in wanted:
                kind = timer_kind(task.task_spec)
                if kind == "date":
                    task._set_internal_data(event_fired=True)
                elif kind == "cycle":
                    task.internal_data[FORCED_FIRING] = True
        ran: list[str] = []
        self._advance(workflow, ran=ran)
        return ran



_NOT_FINISHED = TaskState.NOT_FINISHED_MASK
# A task the case got to: the flow into it was taken (a predicted one is FUTURE, LIKELY or MAYBE).
_REACHED = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.COMPLETED | TaskState.ERROR


def _collector(effects: list[Effect], ran: list[str] | None = None):
    def collect(task):
        if ran is not None and task.task_spec.bpmn_id:
            ran.append(task.task_spec.bpmn_id)
        # Not effects: tell the caller which timers fired (recorded with the sweep's step). A
        # date timer completes; a cycle stays armed and starts its path again each time, so
        # its firing shows as a new first task below it.
        timer = None
        if timer_kind(task.task_spec) == "date":
            timer = task.task_spec
        elif task.parent is not None and timer_kind(task.parent.task_spec) == "cycle":
            timer = task.parent.task_spec
        if timer is not None:
            effects.append(Effect(TIMER_FIRED, timer.bpmn_id, timer.bpmn_name or timer.bpmn_id, {}))
        props = getattr(task.task_spec, "extensions", None)
        if props and props.get("effect"):
            props = dict(props)
            if props.get("notify"):  # the name of a scope variable: resolve it now
                props["notify_scope"] = task.data.get(props["notify"])
            if props.get("roleFrom"):  # the name of a variable holding the role to tell
                props["role"] = task.data.get(props["roleFrom"]) or props.get("role", "")
            if props.get("notice"):  # a text of notices.toml over the case data, filled by the engine
                props["data"] = {k: v for k, v in task.data.items() if v is None or isinstance(v, (str, int, float))}
            effects.append(Effect(props["effect"], task.task_spec.bpmn_id,
                                  task.task_spec.bpmn_name or task.task_spec.bpmn_id, props))
    return collect


TIMER_FIRED = "timer_fired"


def _invalid(exc: ValidationException, file: str | None) -> ProcessError:
    return ProcessError(str(exc.args[0] if exc.args else exc), file=file, element=getattr(exc, "id", None))


def _step_error(exc: Exception) -> ProcessError:
    task = getattr(exc, "task", None)
    element = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    detail = str(exc)
    inner = getattr(exc, "error_type", None)
    return ProcessError(f"{detail}" + (f" [{inner}]" if inner and inner not in detail else ""), element=element)


def _node(ts) -> Node:
    kind = type(ts).__name__
    fields: tuple[FormField, ...] = ()
    form_key = message = ""
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
        message = ts.event_definition.name or ""
    elif isinstance(getattr(ts, "event_definition", None), TimerEventDefinition):
        kind = "timerEvent"
    return Node(bpmn_id=ts.bpmn_id, name=ts.bpmn_name or ts.bpmn_id, kind=kind, lane=ts.lane,
                properties=dict(getattr(ts, "extensions", None) or {}), form_key=form_key, fields=fields,
                message=message)
