"""Errors the engine raises, named for what went wrong in the domain; the web layer decides how
each is answered (web/errors.py maps them to HTTP statuses)."""
from __future__ import annotations

from typing import Any


class Message(str):
    """An English error text that keeps its template and parameters, so a page can show it in
    the user's language while the API sends the English. Parameters named ``field`` hold a form
    field's id and ``choice`` a choice id of that field (pages show their labels instead)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any):
        text = super().__new__(cls, template.format(**params) if params else template)
        text.template, text.params = template, params
        return text

    def format(self, *args: Any, **params: Any) -> "Message":
        # marshmallow fills its validators' and fields' texts in with str.format: keep the template.
        return Message(self.template, **{**self.params, **params})

    def __reduce__(self):
        return (_message, (self.template, self.params))


def _message(template: str, params: dict[str, Any]) -> Message:
    return Message(template, **params)


class EngineError(Exception):
    """A request the engine refused; ``code`` is a short stable name clients may match on."""

    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InputError(EngineError):
    """Submitted data broke a rule; ``errors`` maps each field to its messages."""

    code = "invalid_input"

    def __init__(self, errors: dict[str, list[str]], message: str = "The submitted data is invalid."):
        super().__init__(message)
        self.errors = errors


class OutsideGrids(InputError):
    """A reported point lies outside every active grid of the city, so no grid can take the case."""

    code = "outside_grids"


class NotFound(EngineError):
    """No such record, or one outside the caller's scope (the two are not told apart)."""

    code = "not_found"


class Forbidden(EngineError):
    """The caller may see the record but their roles do not allow the action."""

    code = "forbidden"


class Conflict(EngineError):
    """Someone else changed the case first, or the task is no longer open."""

    code = "conflict"


class PreconditionFailed(Conflict):
    """The caller's expected version (an If-Match) is not the current one; nothing was changed."""

    code = "precondition_failed"


class ProcessFailure(EngineError):
    """The process definition failed while running a step (a designer must fix it)."""

    code = "process_error"


class StepFailed(Conflict):
    """A step of the case failed inside the process; the case now has an incident and nothing
    of the step was kept. ``element`` is the BPMN element that failed, when known."""

    code = "step_failed"

    def __init__(self, message: str, *, element: str | None = None, case_code: str | None = None):
        super().__init__(message)
        self.element = element
        self.case_code = case_code
