"""How the web answers the engine's errors: one HTTP status per error class, used by the API,
Open311 and the tracking pages alike."""
from __future__ import annotations

from engine.errors import (Conflict, EngineError, Forbidden, InputError, NotFound, PreconditionFailed,
                           ProcessFailure)


class MalformedBody(InputError):
    """The request body is not what the operation reads (not JSON, not an object, not multipart)."""

    code = "malformed_body"


class TooLarge(InputError):
    """The upload is larger than the attachment limit."""

    code = "too_large"


# Looked up along the error's class hierarchy, most specific first (PreconditionFailed is a Conflict).
HTTP_STATUS: dict[type[EngineError], int] = {
    EngineError: 400,
    InputError: 422,
    MalformedBody: 400,
    TooLarge: 413,
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    PreconditionFailed: 412,
    ProcessFailure: 500,
}


def http_status(exc: EngineError) -> int:
    """Return the HTTP status that answers ``exc``."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500
