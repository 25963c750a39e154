"""Errors the engine raises; the web layer maps each to one HTTP status."""
from __future__ import annotations


class EngineError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InputError(EngineError):
    """Submitted data broke a rule; ``errors`` maps each field to its messages."""

    status = 422
    code = "invalid_input"

    def __init__(self, errors: dict[str, list[str]], message: str = "The submitted data is invalid."):
        super().__init__(message)
        self.errors = errors


class NotFound(EngineError):
    status = 404
    code = "not_found"


class Forbidden(EngineError):
    status = 403
    code = "forbidden"


class Conflict(EngineError):
    """Someone else changed the case first, or the task is no longer open."""

    status = 409
    code = "conflict"


class PreconditionFailed(Conflict):
    """The caller's expected version (an If-Match) is not the current one; nothing was changed."""

    status = 412
    code = "precondition_failed"


class ProcessFailure(EngineError):
    """The process definition failed while running a step (a designer must fix it)."""

    status = 500
    code = "process_error"


class StepFailed(Conflict):
    """A step of the case failed inside the process; the case now has an incident and nothing
    of the step was kept. ``element`` is the BPMN element that failed, when known."""

    code = "step_failed"

    def __init__(self, message: str, *, element: str | None = None, case_code: str | None = None):
        super().__init__(message)
        self.element = element
        self.case_code = case_code
