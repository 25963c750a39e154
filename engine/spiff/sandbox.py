"""Evaluate designer-written Python expressions and scripts in a small, restricted namespace.

Expressions come from BPMN and DMN files (gateway conditions, script tasks, timer and due
expressions). They see the case data, a handful of safe builtins and the business-calendar
functions; they cannot import, open files, reach the network or touch dunder attributes.
:class:`ScriptEngine` makes the library run every expression and script through here.
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from typing import Any, Callable

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

SAFE_BUILTINS: dict[str, Any] = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in ("abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "isinstance",
                 "len", "list", "max", "min", "range", "round", "set", "sorted", "str", "sum",
                 "tuple", "zip", "True", "False", "None")
}

# ISO-8601 durations (PT4H, P2D, R3/PT2H, R/P1D) and timestamps (2026-01-01T08:00:00+08:00).
_ISO_LITERAL = re.compile(
    r"^(R\d*/)?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$"
    r"|^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


# A {name} placeholder in a message template (names only, never expressions).
TEMPLATE_FIELD = re.compile(r"\{(\w+)\}")


class ExpressionError(ValueError):
    """An expression is not allowed or cannot be compiled."""


# Attributes that lead from a value to frames, code or globals (generator/coroutine frames,
# tracebacks), or that format arbitrary attributes of an object.
_BLOCKED_ATTRS = {"format", "format_map", "mro"}
_BLOCKED_ATTR_PREFIXES = ("_", "gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_")


class _Checker(ast.NodeVisitor):
    def visit_Import(self, node):
        raise ExpressionError("imports are not allowed in expressions")

    visit_ImportFrom = visit_Import

    def visit_Global(self, node):
        raise ExpressionError("'global' is not allowed in expressions")

    visit_Nonlocal = visit_Global

    def visit_Attribute(self, node):
        if node.attr.startswith(_BLOCKED_ATTR_PREFIXES) or node.attr in _BLOCKED_ATTRS:
            raise ExpressionError(f"attribute '{node.attr}' is not allowed in expressions")
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id.startswith("__"):
            raise ExpressionError(f"name '{node.id}' is not allowed in expressions")

    def visit_Constant(self, node):
        # Strings naming dunders only serve to look them up by subscript or getattr-like tricks.
        if isinstance(node.value, str) and "__" in node.value:
            raise ExpressionError("strings containing '__' are not allowed in expressions")


def bare_iso_literal(source: str) -> str | None:
    """Return the text of a bare ISO-8601 duration or timestamp, else None."""
    text = source.strip()
    return text if _ISO_LITERAL.match(text) else None


@lru_cache(maxsize=4096)
def compile_checked(source: str, mode: str):
    """Parse, check and compile ``source``; mode is 'eval' or 'exec'."""
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg} (line {exc.lineno})") from None
    _Checker().visit(tree)
    return compile(tree, "<string>", mode)


class Namespace:
    """Build the globals an expression runs with: safe builtins, functions, then case data."""

    def __init__(self, functions: Callable[[dict], dict[str, Any]]):
        # functions(context) returns the callables bound to that case's data
        self._functions = functions

    def evaluate(self, source: str, context: dict, external: dict | None = None):
        literal = bare_iso_literal(source)
        if literal is not None:
            return literal
        code = compile_checked(source, "eval")
        scope = self._scope(context, external)
        scope.update(context)
        return eval(code, scope)  # noqa: S307 - checked AST, restricted builtins

    def execute(self, source: str, context: dict, external: dict | None = None) -> None:
        code = compile_checked(source, "exec")
        injected = self._scope(context, external)
        clash = (set(injected) - {"__builtins__"}) & set(context)
        if clash:
            raise ExpressionError(
                f"case data overwrites the expression function(s) {sorted(clash)}; rename them")
        scope = dict(injected)
        scope.update(context)
        exec(code, scope)  # noqa: S102 - checked AST, restricted builtins
        for key in list(context):
            if key not in scope:
                del context[key]
        for key, value in scope.items():
            if key in injected and injected[key] is value:
                continue
            if callable(value) or key.startswith("__"):
                continue
            context[key] = value

    def _scope(self, context: dict, external: dict | None) -> dict:
        scope = {"__builtins__": SAFE_BUILTINS}
        scope.update(self._functions(context))
        if external:
            scope.update(external)
        return scope


class _Environment(BasePythonScriptEngineEnvironment):
    def __init__(self, namespace: Namespace):
        super().__init__({})
        self.namespace = namespace

    def evaluate(self, expression, context, external_context=None):
        return self.namespace.evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        self.namespace.execute(script, context, external_context)
        return True


class ScriptEngine(PythonScriptEngine):
    """The library's script engine, evaluating in ``namespace`` instead of its own environment."""

    decision_hook = None  # see WorkflowEngine: a simulation's replay marks what the tables decide

    def __init__(self, namespace: Namespace):
        super().__init__(environment=_Environment(namespace))

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
