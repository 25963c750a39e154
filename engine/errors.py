"""Errors the engine raises, named for what went wrong in the domain; the web layer decides how
each is answered (web/errors.py maps them to HTTP statuses)."""
from __future__ import annotations


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
