"""JSON API under /api/v1: bearer tokens, one error shape, operations declared with their schemas
(the OpenAPI document is built from those declarations), and the case resources.

Task, notification and reference resources live in web/api_tasks.py and web/api_reference.py;
they add their routes to the same blueprint.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, Response, current_app, g, jsonify, request, send_file, url_for
from marshmallow import Schema, ValidationError
from werkzeug.exceptions import HTTPException

from engine.lifecycle import attachments as attachment_service
from engine.lifecycle import cases as case_service
from engine.lifecycle import comments as comment_service
from engine.access.accounts import user_for_token
from engine.errors import EngineError, InputError, NotFound
from engine.queries.search import CaseFilter, search_cases
from engine.lifecycle.tasks import task_of_case

from web.db import get_session, runtime
from web.ratelimit import rate_limited
from web.api.schemas import (AttachmentListSchema, AttachmentSchema, AttachmentUploadSchema, CaseCreatedSchema,
                      CaseReportSchema, CaseSchema, CasePageSchema, CaseSearchArgs, CommentArgs, CommentListSchema,
                      CommentSchema, EventListSchema, MAX_ID)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PROBLEM = "application/problem+json"
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


# -- errors: application/problem+json everywhere ----------------------------------------------------
def problem(status: int, title: str, detail: str, errors: dict[str, list[str]] | None = None,
            element: str | None = None):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if element:
        body["element"] = element
    if errors is not None:
        body["errors"] = [{"field": field, "message": msg} for field, msgs in errors.items() for msg in msgs]
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    return response


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError):
    if exc.status >= 500:
        current_app.logger.error("process failure: %s", exc.message)
    return problem(exc.status, exc.code, exc.message, getattr(exc, "errors", None), getattr(exc, "element", None))


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


class MalformedBody(InputError):
    status = 400
    code = "malformed_body"


class TooLarge(InputError):
    status = 413
    code = "too_large"


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
    etag: bool = False
    auth: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    def error_codes(self) -> list[int]:
        codes = set(self.errors)
        if self.auth:
            codes.add(401)
        if self.query or self.body or self.multipart or self.if_match:
            codes.add(422)
        if self.body or self.multipart:
            codes.add(400)
        if self.if_match:
            codes.add(412)
        return sorted(codes)


def operation(summary: str, **meta) -> Callable:
    """Declare a view's contract: authenticate, load query and body with their schemas, dump the
    result with the response schema. The view gets ``args``, ``body`` and ``if_match`` keywords."""
    op = Operation(summary, **meta)

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
                kwargs["args"] = load(op.query(), request.args)
            if isinstance(op.body, type):
                kwargs["body"] = load(op.body(), json_body())
            elif op.body is not None:
                kwargs["body"] = json_body()
            if op.if_match:
                kwargs["if_match"] = if_match()
            result = view(**kwargs)
            if isinstance(result, Response):
                return result
            headers = {}
            if isinstance(result, tuple):
                result, headers = result
            response = jsonify(op.response().dump(result))
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


def case_etag(case) -> dict[str, str]:
    return {"ETag": f'"{case.version}"'}


class CaseView:
    """A case with its open tasks and timeline, as CaseSchema dumps it."""

    def __init__(self, session, case):
        self._case = case
        self.open_tasks = case_service.open_tasks(session, case)
        self.timeline = case_service.timeline(session, case)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)


# -- cases ---------------------------------------------------------------------------------------
CASE_ERRORS = (404,)


@bp.post("/cases")
@operation("Report a case", tag="cases", body=CaseReportSchema, response=CaseCreatedSchema, status=201,
           errors=(403, 429), description="Intake from any channel: the case starts its process at once. "
           "The answer's Location header is the case's URL. At most RATE_LIMIT_API cases per client "
           "address (a 429 with Retry-After beyond it).")
@rate_limited("API", lambda retry: problem(429, "too_many_requests",
                                           f"Too many cases from this address; try again in {retry} s."))
def report_case(body):
    session = get_session()
    case = case_service.report_case(session, runtime(), g.user, body)
    session.commit()
    if getattr(case, "tracking_secret", None):  # a resident report: the reporter's private page
        case.tracking_url = url_for("track.reporter_page", code=case.code, secret=case.tracking_secret,
                                    _external=True)
    return case, {"Location": f"/api/v1/cases/{case.code}", **case_etag(case)}


@bp.get("/cases")
@operation("Search cases", tag="cases", query=CaseSearchArgs, response=CasePageSchema,
           description="Cases you may see (your org units' and your departments'), newest first.")
def search(args):
    session = get_session()
    rt = runtime()
    page_args = {k: args.pop(k) for k in ("limit", "offset")}
    page = search_cases(session, rt, g.user, CaseFilter.parse(args), now=rt.clock(), **page_args)
    return page


@bp.get("/cases/<code>")
@operation("Read a case", tag="cases", response=CaseSchema, errors=CASE_ERRORS, etag=True,
           description="Stage, status, department, due times, SLA flags, open tasks and timeline. "
           "A case outside your scope is 404, as if it did not exist.")
def get_case(code: str):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    return CaseView(session, case), case_etag(case)


@bp.get("/cases/<code>/timeline")
@operation("Read a case's timeline", tag="cases", response=EventListSchema, errors=CASE_ERRORS)
def get_timeline(code: str):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    return {"items": case_service.timeline(session, case)}


@bp.get("/cases/<code>/attachments")
@operation("List a case's photos", tag="cases", response=AttachmentListSchema, errors=CASE_ERRORS)
def list_attachments(code: str):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    return {"items": attachment_service.list_attachments(session, case)}


@bp.post("/cases/<code>/attachments")
@operation("Attach a photo", tag="cases", multipart=AttachmentUploadSchema, response=AttachmentSchema, status=201,
           errors=(404, 413), description="multipart/form-data with the photo in `file`; JPEG, PNG or WebP, "
           "checked by content.")
def upload_attachment(code: str):
    session = get_session()
    rt = runtime()
    limit = int(rt.settings.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    if (request.content_length or 0) > limit + 64 * 1024:
        raise TooLarge({"file": [f"The upload is larger than the limit of {limit / 1048576:.0f} MB."]},
                       "The request body is too large.")
    case = case_service.get_case(session, g.user, code)
    if request.mimetype != "multipart/form-data":
        raise MalformedBody({"_body": ["Send the photo as multipart/form-data with a part named 'file'."]},
                            "The request body is not multipart/form-data.")
    form = load(AttachmentUploadSchema(partial=("file",)), request.form)
    unknown = sorted(set(request.files) - {"file"})
    if unknown:
        raise InputError({name: ["Unknown field."] for name in unknown})
    upload = request.files.get("file")
    if upload is None:
        raise InputError({"file": ["Missing data for required field."]})
    task = task_of_case(session, g.user, case, form.get("task_id"))
    data = upload.stream.read(limit + 1)
    attachment = attachment_service.add_attachment(session, rt, g.user, case, upload.filename or "", data,
                                                   task=task, field="file")
    session.commit()
    return attachment, {"Location": f"/api/v1/cases/{case.code}/attachments/{attachment.id}"}


def _send(code: str, attachment_id: int, thumbnail: bool):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    stored = attachment_service.attachment_file(session, runtime(), case, attachment_id, thumbnail=thumbnail)
    return send_file(stored.path, mimetype=stored.content_type, download_name=stored.filename, max_age=3600)


@bp.get("/cases/<code>/attachments/<int:attachment_id>")
@operation("Download a photo", tag="cases", media=IMAGE_TYPES, errors=CASE_ERRORS)
def download_attachment(code: str, attachment_id: int):
    return _send(code, attachment_id, thumbnail=False)


@bp.get("/cases/<code>/attachments/<int:attachment_id>/thumbnail")
@operation("Download a photo's thumbnail", tag="cases", media=("image/jpeg",), errors=CASE_ERRORS,
           description="A JPEG at most 320×320 pixels.")
def download_thumbnail(code: str, attachment_id: int):
    return _send(code, attachment_id, thumbnail=True)


@bp.get("/cases/<code>/comments")
@operation("List a case's internal comments", tag="cases", response=CommentListSchema, errors=CASE_ERRORS)
def list_comments(code: str):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    return {"items": comment_service.list_comments(session, case)}


@bp.post("/cases/<code>/comments")
@operation("Comment on a case", tag="cases", body=CommentArgs, response=CommentSchema, status=201,
           errors=CASE_ERRORS, description="Internal remarks for staff; never shown on public tracking.")
def add_comment(code: str, body):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    task = task_of_case(session, g.user, case, body.get("task_id"))
    comment = comment_service.add_comment(session, runtime(), g.user, case, body["body"], task=task)
    session.commit()
    return comment


from web.api import reference as api_reference  # noqa: E402,F401  (they add their routes to bp)
from web.api import tasks as api_tasks  # noqa: E402,F401  (they add their routes to bp)
from web.api import openapi  # noqa: E402,F401  (they add their routes to bp)
