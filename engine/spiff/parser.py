"""Read BPMN and DMN the way gridflow's designers write them: Camunda 7 extensions on events,
timeCycles over the business calendar, and DMN hit policy FIRST that stops at the first hit."""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import EventDefinitionParser, ReceiveTaskParser
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, IntermediateCatchEvent, IntermediateThrowEvent, ReceiveTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaEventDefinitionParser,
    CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine import clock


# Internal data that makes a recurring timer fire at its next check whatever the time (a replay).
FORCED_FIRING = "gridflow_forced_firing"


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
            # Imported here: the facade, which defines the error, imports this module.
            from engine.spiff.facade import ProcessError

            raise ProcessError(f"timeCycle {self.expression!r} gave {text!r}, not an ISO repeating "
                               f"interval like R/2026-11-25T17:30:00+08:00/PT2H: {exc}",
                               element=my_task.task_spec.bpmn_id) from None

    def cycle_complete(self, my_task):
        value = my_task._get_internal_data("event_value")
        if value is None:
            cycles, start, interval = self._evaluate(my_task)
            value = {"cycles": cycles, "next": start.isoformat(), "duration": interval.total_seconds()}
        fired = False
        forced = my_task.internal_data.pop(FORCED_FIRING, False)  # a simulation replays a firing
        if value["cycles"] != 0:
            due, now = datetime.fromisoformat(value["next"]), clock.now()
            if due < now or forced:
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


# The event_type of every timer in waiting_events(), this one included.
TIMER_TYPES = {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition",
               "RecurringTimerEventDefinition"}


def timer_kind(spec) -> str | None:
    """"date", "cycle" or None for a task spec; worked out once per spec (this runs per task)."""
    kind = spec.__dict__.get("_gridflow_timer", False)
    if kind is False:
        event = getattr(spec, "event_definition", None)
        kind = ("cycle" if isinstance(event, CycleTimerEventDefinition)
                else "date" if isinstance(event, TimerEventDefinition) else None)
        spec.__dict__["_gridflow_timer"] = kind
    return kind


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


class Parser(CamundaParser):
    """CamundaParser that also reads properties and recurring timeCycles on events."""

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("intermediateCatchEvent"): (_PropertiesCatchEventParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_PropertiesThrowEventParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (_PropertiesBoundaryEventParser, BoundaryEvent),
        # A receive task is a message wait that can carry boundary timers (a window to answer).
        full_tag("receiveTask"): (_PropertiesReceiveTaskParser, ReceiveTask),
    }

    def add_file(self, name: str, text: str) -> None:
        """Add one .bpmn or .dmn source (other files are ignored); the library's errors pass through."""
        root = etree.fromstring(text.encode("utf-8"))
        if name.endswith(".dmn"):
            self.add_dmn_xml(root, filename=name)
        elif name.endswith(".bpmn"):
            self.add_bpmn_xml(root, filename=name)


class FirstHitDMNEngine(DMNEngine):
    """Stop at the first matching rule under hit policy FIRST (the library checks them all).

    The parser and the spec serializer both build plain DMNEngines, so :func:`use_first_hit`
    swaps the class of each one in a parsed or loaded spec. The rule check is the library's
    private ``__check_rule``; the version guard in patches.py pins the version that has it.
    """

    def result(self, task):
        # A simulation's replay marks what its tables decide (engine/process/replay.py); the
        # workflow's script engine carries the hook, None everywhere else.
        outputs = super().result(task)
        hook = getattr(task.workflow.script_engine, "decision_hook", None)
        return hook(task.task_spec.bpmn_id, outputs) if hook is not None else outputs

    def decide(self, task):
        if self.decision_table.hit_policy != "FIRST":
            return super().decide(task)
        for rule in self.decision_table.rules:
            if self._DMNEngine__check_rule(rule, task):
                return [rule]
        return []


def use_first_hit(task_spec) -> None:
    """Make a business-rule task's decision engine stop at the first hit (other specs untouched)."""
    if isinstance(getattr(task_spec, "dmnEngine", None), DMNEngine):
        task_spec.dmnEngine.__class__ = FirstHitDMNEngine


def matched_rule(spec, data: dict, script_engine) -> tuple[int, str] | None:
    """Return (row number, description) of the rule a business-rule task's table picks for ``data``."""
    engine = getattr(spec, "dmnEngine", None)
    if not isinstance(engine, DMNEngine):
        return None
    # The DMN engine reads only a task's data and its workflow's script engine.
    probe = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=script_engine), task_spec=spec)
    try:
        rules = engine.decide(probe)
    except Exception:  # noqa: BLE001 - an explanation that fails is left out, never fatal
        return None
    return (rules[0].row_number, rules[0].description or "") if rules else None


def decision_outputs(spec, data: dict, script_engine) -> dict | None:
    """Return what a business-rule task's table sets for ``data`` (its first hit's outputs, {} when no
    rule matches), evaluated as the task would; None when the spec is no business-rule task."""
    engine = getattr(spec, "dmnEngine", None)
    if not isinstance(engine, DMNEngine):
        return None
    probe = SimpleNamespace(data=dict(data), workflow=SimpleNamespace(script_engine=script_engine), task_spec=spec)
    return DMNEngine.result(engine, probe)  # the table's own answer, never a replay's marked one
