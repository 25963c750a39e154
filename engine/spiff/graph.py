"""The parsed process as a graph of steps, for the data-flow checks of `processes validate`."""
from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway as _ParallelGatewayMixin
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.spiff.facade import ProcessBundle


@dataclass(frozen=True)
class Decision:
    """A decision table as a business-rule task evaluates it: what it reads and what it sets."""

    id: str
    inputs: tuple[str, ...]                   # input expressions, evaluated over the task's data
    outputs: tuple[str, ...]                  # the variables its outputs set
    input_cells: tuple[tuple[str, str, str], ...]   # (rule id, input expression, cell text)
    output_cells: tuple[tuple[str, str, str], ...]  # (rule id, output variable, cell text)


@dataclass(frozen=True)
class FlowStep:
    """One element of a parsed process graph as the data-flow checks see it.

    ``name`` is unique in the graph and includes the library's own joins and splits (a
    boundary event hangs off ``<task>.BoundaryEventSplit`` beside its task, so its timer sees
    the data the task was entered with); ``outputs`` are the names of the steps after it.
    """

    name: str
    bpmn_id: str | None
    outputs: tuple[str, ...]
    parallel: bool = False                    # a parallel join merges the data of every branch
    script: str = ""
    conditions: tuple[tuple[str, str], ...] = ()  # (condition, the step its flow leads to)
    timer: str = ""
    decision: Decision | None = None
    message: str = ""                         # the variable a caught message's payload lands in


@dataclass(frozen=True)
class FlowGraph:
    start: str
    steps: dict[str, FlowStep]
    data_objects: tuple[str, ...]  # always readable: the library starts each one as None


def flow_graph(bundle: ProcessBundle) -> FlowGraph:
    """Describe the top-level process of ``bundle`` as steps with edges, for data-flow checks."""
    steps = {}
    for name, ts in bundle.spec.task_specs.items():
        event = getattr(ts, "event_definition", None)
        engine = getattr(ts, "dmnEngine", None)
        steps[name] = FlowStep(
            name=name, bpmn_id=getattr(ts, "bpmn_id", None), outputs=tuple(o.name for o in ts.outputs),
            parallel=isinstance(ts, _ParallelGatewayMixin), script=getattr(ts, "script", None) or "",
            conditions=tuple((c.args[0], target) for c, target in getattr(ts, "cond_task_specs", ()) if c is not None),
            timer=(event.expression or "") if isinstance(event, TimerEventDefinition) else "",
            decision=_decision(engine.decision_table) if isinstance(engine, DMNEngine) else None,
            message=event.name if isinstance(event, MessageEventDefinition) else "")
    return FlowGraph(bundle.spec.start.name, steps, tuple(bundle.spec.data_objects))


def _decision(table) -> Decision:
    inputs = tuple(i.expression or "" for i in table.inputs)
    return Decision(
        id=table.id, inputs=inputs, outputs=tuple(o.name for o in table.outputs if o.name),
        input_cells=tuple((r.id, e.input.expression or "", _cell(e)) for r in table.rules for e in r.inputEntries),
        output_cells=tuple((r.id, e.output.name or "", e.text or "") for r in table.rules for e in r.outputEntries))


def _cell(entry) -> str:
    """An input cell's text. The library's DMN serializer keeps only ``lhs`` (the parsed cell, None for
    '-') of an input entry, so an entry of a spec loaded from a stored version has no ``text``."""
    if hasattr(entry, "text"):
        return entry.text or ""
    return next((t for t in entry.lhs if t is not None), "")
