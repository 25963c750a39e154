"""The one facade over SpiffWorkflow; other packages import from here, never from its modules."""
from engine.spiff.facade import (
    TIMER_FIRED,
    Effect,
    FormField,
    MovedState,
    Node,
    NotWaiting,
    ProcessBundle,
    ProcessError,
    ReadyTask,
    Snapshot,
    WorkflowEngine,
)
from engine.spiff.migration import SpecMapping, Unfit
from engine.spiff.graph import Decision, FlowGraph, FlowStep, flow_graph
from engine.spiff.patches import UnsupportedSpiffWorkflow
from engine.spiff.sandbox import TEMPLATE_FIELD, ExpressionError, Namespace, bare_iso_literal, compile_checked

__all__ = [
    "TEMPLATE_FIELD", "TIMER_FIRED", "Effect", "ExpressionError", "FormField", "Namespace", "Node", "NotWaiting", "Decision", "FlowGraph", "FlowStep", "flow_graph",
    "ProcessBundle", "ProcessError", "ReadyTask", "Snapshot", "UnsupportedSpiffWorkflow", "WorkflowEngine",
    "MovedState", "SpecMapping", "Unfit", "bare_iso_literal", "compile_checked",
]
