"""JSON API under /api/v1: bearer tokens, one error shape (problem+json), and operations declared
with their schemas (the OpenAPI document is built from those declarations).

The resources live beside this module (cases, tasks, reference, tokens) and add their routes to bp.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Callable

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException

from engine.access.accounts import user_for_token
from engine.errors import EngineError, InputError, NotFound
from engine.lifecycle.idempotency import check_key

from web.api.schemas.common import MAX_ID
from web.db import get_session, runtime
from web.errors import MalformedBody, http_status

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PROBLEM = "application/problem+json"
# A problem never echoes a body back: this many field errors at most, each message and field
# name cut to this many characters.
MAX_ERRORS, MAX_ERROR_TEXT = 50, 300


def _cut(text) -> str:
    text = str(text)
    return text if len(text) <= MAX_ERROR_TEXT else text[:MAX_ERROR_TEXT] + "…"


# -- errors: application/problem+json everywhere ----------------------------------------------------
def problem(status: int, title: str, detail: str, errors: dict[str, list[str]] | None = None,
            element: str | None = None):
    body = {"type": "about:blank", "title": title, "status": status, "detail": _cut(detail)}
    if element:
        body["element"] = element
    if errors is not None:
        listed = [{"field": _cut(field), "message": _cut(msg)} for field, msgs in errors.items() for msg in msgs]
        body["errors"] = listed[:MAX_ERRORS]
        if len(listed) > MAX_ERRORS:
            body["errors_omitted"] = len(listed) - MAX_ERRORS
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    return response


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError):
    status = http_status(exc)
    if status >= 500:
        current_app.logger.error("process failure: %s", exc.message)
    return problem(status, exc.code, exc.message, getattr(exc, "errors", None), getattr(exc, "element", None))


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Routing errors (unknown URL, wrong method) under /api/ answer in the API's shape too."""
    if not request.path.startswith(bp.url_prefix):
        return exc
    response = problem(exc.code or 500, exc.name, exc.description or exc.name)
    allow = dict(exc.get_headers()).get("Allow")
    if allow:  # a 405 says which methods the URL has
        response.headers["Allow"] = allow
    return response


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return http_error(exc)
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return problem(500, "internal_error", "Something went wrong on our side; it has been logged.")


# -- operations --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one view; the wrapper enforces the same contract."""

    summary: str
    tag: str
    description: str = ""
    query: type[Schema] | None = None
    body: type[Schema] | dict | None = None     # a schema, or a raw JSON Schema checked by the engine
    multipart: type[Schema] | None = None
    response: type[Schema] | None = None
    media: tuple[str, ...] = ()                 # a non-JSON success body (files)
    status: int = 200
    errors: tuple[int, ...] = ()
    if_match: bool = False
    idempotent: bool = False                    # takes an Idempotency-Key header
    etag: bool = False
    auth: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    def error_codes(self) -> list[int]:
        codes = set(self.errors)
        if self.auth:
            codes.add(401)
        if self.query or self.body or self.multipart or self.if_match or self.idempotent:
            codes.add(422)
        if self.idempotent:
            codes.add(409)
        if self.body or self.multipart:
            codes.add(400)
        if self.if_match:
            codes.add(412)
        return sorted(codes)


def operation(summary: str, **meta) -> Callable:
    """Declare a view's contract: authenticate, load query and body with their schemas, dump the
    result with the response schema. The view gets ``args``, ``body``, ``if_match`` and
    ``idempotency_key`` keywords."""
    op = Operation(summary, **meta)
    # One instance of each schema for all requests: marshmallow keeps no per-call state on a
    # schema, and building one (with its nested schemas) per request cost about 3 ms a lifecycle.
    made: dict[type[Schema], Schema] = {}

    def schema(cls: type[Schema]) -> Schema:
        if cls not in made:
            made[cls] = cls()
        return made[cls]

    def decorate(view):
        @wraps(view)
        def wrapper(**kwargs):
            if op.auth and not _authenticate():
                response = problem(401, "unauthorized", "Send a valid API token: 'Authorization: Bearer <token>'.")
                response.headers["WWW-Authenticate"] = 'Bearer realm="gridflow"'
                return response
            if any(isinstance(v, int) and v > MAX_ID for v in kwargs.values()):
                raise NotFound(f"{request.path} does not exist")  # an id no database column holds
            if op.query:
                kwargs["args"] = load(schema(op.query), request.args)
            if isinstance(op.body, type):
                kwargs["body"] = load(schema(op.body), json_body())
            elif op.body is not None:
                kwargs["body"] = json_body()
            if op.if_match:
                kwargs["if_match"] = if_match()
            if op.idempotent:
                kwargs["idempotency_key"] = check_key(request.headers.get("Idempotency-Key"))
            result = view(**kwargs)
            if isinstance(result, Response):
                return result
            headers = {}
            if isinstance(result, tuple):
                result, headers = result
            response = jsonify(schema(op.response).dump(result))
            response.status_code = op.status
            response.headers.update(headers)
            return response
        wrapper.operation = op
        return wrapper
    return decorate



def _authenticate() -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip() and len(token) < 200:
        user = user_for_token(get_session(), runtime(), token.strip())
    g.user = user
    return user is not None


def json_body() -> dict:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting
        data = None
    if not isinstance(data, dict):
        raise MalformedBody({"_body": ["Must be a JSON object sent with Content-Type: application/json."]},
                            "The request body is not a JSON object.")
    return data


def load(schema: Schema, data) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_body": exc.messages}
        raise InputError({str(k): _messages(v) for k, v in messages.items()}) from None


def _messages(value) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):  # nested: {index: [messages]}
        return [f"{k}: {m}" for k, v in value.items() for m in _messages(v)]
    return [str(value)]


_ETAG = re.compile(r'^(?:W/)?"?(\d{1,18})(?:\.(\d{1,18}))?"?$')


def if_match() -> tuple[int, int | None] | None:
    """Read If-Match as (case version, task version or None); absent or ``*`` means no check.

    A blank If-Match is refused rather than read as absent: it is usually an unset variable in
    the client (``-H "If-Match: $ETAG"``), and that client meant its write to be checked.
    """
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    raw = raw.strip()
    match = _ETAG.match(raw)
    if not match:
        raise InputError({"If-Match": ['Must be an ETag you received, e.g. "3" (a case) or "3.2" (a task).']})
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


# The resource modules add their routes to bp.
from web.api import admin, assessment, cases, openapi, reference, tasks, tokens, two_way  # noqa: E402,F401
