"""Which case variables exist at each element: a data-flow analysis over a parsed process.

A misspelt name in a condition, a timer or a script is not an error the parser sees; it
surfaces as a failed step on a running case. Here every expression a step evaluates is
checked against the variables that are set on *every* path into it: the data the engine
puts into a new case, form fields, script assignments, decision outputs and message
payloads set before that point. A name that some path leaves unset is refused.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Iterable

from engine.spiff import FlowGraph, FlowStep, Node
from engine.spiff.sandbox import SAFE_BUILTINS, bare_iso_literal

# What the engine puts into a new case's data (processes/README.md lists them; the
# lifecycle's case_data builds them and a test keeps the two the same).
CASE_START_VARIABLES = (
    "case_code", "category_code", "major_code", "emergency", "urgency", "source", "resident_report",
    "self_handled", "reported_by", "grid_code", "community_code", "street_code", "district_code", "grid_scope",
    "community_scope", "street_scope", "district_scope", "area_type", "default_department",
    "warn_fraction", "escalation_hours",
)
# The start variable that holds a category code (a decision column over it names categories).
CATEGORY_VARIABLE = "category_code"
# Properties whose value is the name of a variable, and those that are expressions.
VARIABLE_PROPERTIES = ("scope", "notify", "roleFrom")
EXPRESSION_PROPERTIES = ("due",)
# Properties listing variables to show ("var:label, var.key:label"): a task's facts beside its form,
# what the reporter sees while the case waits. A listed variable that is not set yet is left out,
# so it need not be set on every path; but something in the process must set it.
SHOWN_PROPERTIES = ("show", "reporterSees")


@dataclass(frozen=True)
class _Read:
    what: str     # e.g. "condition", "timer", "script", "property due"
    source: str
    names: tuple[str, ...]


def unset_variables(key: str, graph: FlowGraph, node: Callable[[str], Node | None],
                    functions: Iterable[str]) -> list[str]:
    """Return a problem for every name an element reads that a path into it leaves unset."""
    known = set(functions) | set(SAFE_BUILTINS)
    always = set(CASE_START_VARIABLES) | set(graph.data_objects)
    sets = {name: _sets(step, node(step.bpmn_id) if step.bpmn_id else None) for name, step in graph.steps.items()}
    before = _set_on_every_path(graph, sets, always)
    everywhere = always.union(*sets.values())
    problems = []
    for name, step in graph.steps.items():
        if not step.bpmn_id:
            continue
        for read in _reads(step, node(step.bpmn_id)):
            for var in read.names:
                if var in known or var in before[name]:
                    continue
                why = ("nothing in the process sets it" if var not in everywhere
                       else f"it is not set on every path into {step.bpmn_id}")
                problems.append(f"{key}/{step.bpmn_id}: {read.what} {read.source[:60]!r} reads "
                                f"variable {var!r}, but {why}")
        element = node(step.bpmn_id)
        for prop in SHOWN_PROPERTIES:
            for var in _shown_names((element.properties if element else {}).get(prop, "")):
                if var not in everywhere and var not in known:
                    problems.append(f"{key}/{step.bpmn_id}: property {prop} shows variable {var!r}, "
                                    "but nothing in the process sets it")
    return problems


def _shown_names(listing: str) -> list[str]:
    """The variables a ``show``-style listing names (the head of each dotted name)."""
    return [item.strip().partition(":")[0].strip().split(".")[0] for item in listing.split(",")
            if item.strip().partition(":")[0].strip()]


def _set_on_every_path(graph: FlowGraph, sets: dict[str, set[str]], always: set[str]) -> dict[str, set[str]]:
    """Map each step to the variables set on every path from the start to it (its input).

    The greatest fixed point: every step starts with all variables and loses those some
    incoming path lacks, so a rework loop neither adds nor removes what the way in set.
    """
    universe = always.union(*sets.values())
    preds: dict[str, list[str]] = {name: [] for name in graph.steps}
    for name, step in graph.steps.items():
        for out in step.outputs:
            preds.setdefault(out, []).append(name)
    before = {name: set(universe) for name in graph.steps}
    before[graph.start] = set(always)
    changed = True
    while changed:
        changed = False
        for name, step in graph.steps.items():
            if name == graph.start or not preds.get(name):
                continue  # an unreachable step is not checked more strictly than the rest
            ins = [before[p] | sets[p] for p in preds[name]]
            new = set.union(*ins) if step.parallel else set.intersection(*ins)
            if new != before[name]:
                before[name], changed = new, True
    return before


def _sets(step: FlowStep, node: Node | None) -> set[str]:
    out: set[str] = set()
    if step.script:
        out |= _script_names(step.script)[1]
    if step.decision:
        out |= set(step.decision.outputs)
    if step.message:
        out.add(step.message)
    if node is not None:
        out |= {f.id for f in node.fields}  # a submission sets every field (None where not given)
        if node.properties.get("actor"):     # the completing user's name, as the designer asked
            out.add(node.properties["actor"])
    return out


def _reads(step: FlowStep, node: Node | None) -> list[_Read]:
    reads = []
    if step.script:
        reads.append(_Read("script", step.script, _script_names(step.script)[0]))
    for condition, target in step.conditions:
        reads.append(_Read(f"condition (flow to {target})", condition, _expression_names(condition)))
    if step.timer and bare_iso_literal(step.timer) is None:
        reads.append(_Read("timer", step.timer, _expression_names(step.timer)))
    if step.decision:
        d = step.decision
        reads += [_Read(f"decision {d.id} input", e, _expression_names(e)) for e in dict.fromkeys(d.inputs) if e]
        cells = dict.fromkeys(text for _, _, text in d.output_cells if text.strip())
        reads += [_Read(f"decision {d.id} output", text, _expression_names(text)) for text in cells]
    props = node.properties if node is not None else {}
    for prop in VARIABLE_PROPERTIES:
        if props.get(prop, "").isidentifier():
            reads.append(_Read(f"property {prop}", props[prop], (props[prop],)))
    for prop in EXPRESSION_PROPERTIES:
        if props.get(prop):
            reads.append(_Read(f"property {prop}", props[prop], _expression_names(props[prop])))
    return reads


def _expression_names(source: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return ()  # reported by the expression checks
    return tuple(dict.fromkeys(_loads(tree.body)))


def _script_names(source: str) -> tuple[tuple[str, ...], set[str]]:
    """Return the names a script reads before it sets them, and the names it sets."""
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError:
        return (), set()
    reads: dict[str, None] = {}
    assigned: set[str] = set()
    for statement in tree.body:
        for name in _loads(statement):
            if name not in assigned:
                reads[name] = None
        assigned |= _stores(statement)
    return tuple(reads), assigned


def _local_nodes(tree: ast.AST) -> tuple[set[int], set[str]]:
    """Name nodes bound inside comprehensions, and parameter names of lambdas and functions."""
    bound_nodes, params = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            bound_nodes |= {id(n) for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Lambda, ast.FunctionDef)):
            params |= {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
    return bound_nodes, params


def _loads(tree: ast.AST) -> list[str]:
    bound_nodes, params = _local_nodes(tree)
    locals_ = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) in bound_nodes} | params
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in locals_:
            if isinstance(node.ctx, ast.Load):
                names.append(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)  # `n += 1` reads n first
    return names


def _stores(tree: ast.AST) -> set[str]:
    bound_nodes, _ = _local_nodes(tree)
    names = {n.id for n in ast.walk(tree)
             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in bound_nodes}
    names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    return names


@dataclass(frozen=True)
class VariableUses:
    """Which case variables a process reads, and where: what a simulation must tell cases apart by."""

    decision_inputs: dict[str, frozenset[str]]   # business-rule task → the names its table's inputs read
    elsewhere: frozenset[str]                    # names read by anything but a table's inputs
    steering: frozenset[str]                     # names that can change the path: read by a condition, a
    # timer or a table's inputs, or read by a script that sets such a name
    plain: frozenset[str]                        # names read other than as an argument of a calendar
    # function (deadline(hours=x) reads x only to make a time) or by a timer


def variable_uses(graph: FlowGraph, node: Callable[[str], Node | None], functions: Iterable[str]) -> VariableUses:
    """Where the process reads each variable; ``functions`` are the calendar functions."""
    calendar = frozenset(functions)
    decision_inputs: dict[str, frozenset[str]] = {}
    elsewhere: set[str] = set()
    steering: set[str] = set()
    plain: set[str] = set()
    scripts: list[tuple[tuple[str, ...], set[str]]] = []
    for step in graph.steps.values():
        if not step.bpmn_id:
            continue
        for read in _reads(step, node(step.bpmn_id)):
            if read.what.startswith("property ") and read.what.split()[1] in VARIABLE_PROPERTIES:
                plain |= set(read.names)  # a property naming a variable reads it as it is
            elif not read.what.startswith("timer"):
                plain |= set(read.names) & _plain_loads(read.source, calendar)
            if read.what.startswith("decision") and read.what.endswith(" input"):
                decision_inputs[step.bpmn_id] = decision_inputs.get(step.bpmn_id, frozenset()) | set(read.names)
                steering |= set(read.names)
                continue
            elsewhere |= set(read.names)
            if read.what.startswith(("condition", "timer")):
                steering |= set(read.names)
        if step.script:
            scripts.append(_script_names(step.script))
    changed = True
    while changed:  # a script that sets a steering name makes what it reads steering too
        changed = False
        for reads, sets in scripts:
            if sets & steering and not set(reads) <= steering:
                steering |= set(reads)
                changed = True
    return VariableUses(decision_inputs, frozenset(elsewhere), frozenset(steering), frozenset(plain))


def _plain_loads(source: str, calendar: frozenset[str]) -> set[str]:
    """The names an expression or script reads outside the arguments of calls to ``calendar`` functions."""
    try:
        tree = ast.parse(source.strip(), mode="exec")
    except SyntaxError:
        return set()
    found: set[str] = set()

    def visit(node, inside: bool):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in calendar:
            inside = True
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and not inside:
            found.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return found
