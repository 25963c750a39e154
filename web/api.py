"""JSON API under /api/v1: intake, inbox, task completion and case lookup, with bearer tokens."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from werkzeug.exceptions import HTTPException

from engine import cases as case_service
from engine import notifications
from engine.accounts import user_for_token
from engine.errors import EngineError, InputError, NotFound
from engine.inbox import inbox, task_form

from .db import get_session
from .schemas import CaseReportSchema, CaseSchema, EventSchema, FormFieldSchema, OpenTaskSchema, TaskSchema

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PROBLEM = "application/problem+json"
MAX_ID = 2 ** 63 - 1  # the largest id a database column holds


def problem(status: int, title: str, detail: str, errors: dict[str, list[str]] | None = None):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
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
    return problem(exc.status, exc.code, exc.message, getattr(exc, "errors", None))


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Routing errors (unknown URL, wrong method) under /api/ answer in the API's shape too."""
    if not request.path.startswith(bp.url_prefix):
        return exc
    return problem(exc.code or 500, exc.name, exc.description or exc.name)


def runtime():
    return current_app.extensions["gridflow.runtime"]


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user = None
        if scheme.lower() == "bearer" and token.strip():
            user = user_for_token(get_session(), runtime(), token.strip())
        if user is None:
            response = problem(401, "unauthorized", "Send a valid API token: 'Authorization: Bearer <token>'.")
            response.headers["WWW-Authenticate"] = 'Bearer realm="gridflow"'
            return response
        g.user = user
        return view(*args, **kwargs)
    return wrapper


class MalformedBody(InputError):
    status = 400
    code = "malformed_body"


def json_body() -> dict:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting
        data = None
    if not isinstance(data, dict):
        raise MalformedBody({"_body": ["Must be a JSON object sent with Content-Type: application/json."]},
                            "The request body is not a JSON object.")
    return data


def load(schema, data: dict) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InputError({k: v if isinstance(v, list) else [str(v)] for k, v in exc.messages.items()}) from None


def case_payload(session, case) -> dict:
    payload = CaseSchema().dump(case)
    payload["open_tasks"] = OpenTaskSchema(many=True).dump(case_service.open_tasks(session, case))
    payload["timeline"] = EventSchema(many=True).dump(case_service.timeline(session, case))
    return payload


@bp.post("/cases")
@token_required
def report_case():
    session = get_session()
    report = load(CaseReportSchema(), json_body())
    case = case_service.report_case(session, runtime(), g.user, report)
    session.commit()
    body = {"code": case.code, "status": case.status, "stage": case.stage, "version": case.version}
    if getattr(case, "tracking_secret", None):  # a resident report: the reporter's private page
        body["tracking_url"] = url_for("track.reporter_page", code=case.code, secret=case.tracking_secret,
                                       _external=True)
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/cases/{case.code}"
    return response


@bp.get("/cases/<code>")
@token_required
def get_case(code: str):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    return jsonify(case_payload(session, case))


@bp.get("/tasks")
@token_required
def list_tasks():
    session = get_session()
    try:
        limit = min(max(int(request.args.get("limit", 50)), 1), 500)
        offset = min(max(int(request.args.get("offset", 0)), 0), MAX_ID)
    except ValueError:
        raise InputError({"limit": ["limit and offset must be integers."]}) from None
    rt = runtime()
    items = []
    for task in inbox(session, g.user, limit=limit, offset=offset):
        item = TaskSchema().dump(task)
        item["form"] = FormFieldSchema(many=True).dump(task_form(session, rt, task))
        items.append(item)
    return jsonify({"items": items, "limit": limit, "offset": offset})


@bp.post("/tasks/<int:task_id>/complete")
@token_required
def complete_task(task_id: int):
    if task_id > MAX_ID:
        raise NotFound(f"task {task_id} does not exist")
    session = get_session()
    expected = request.headers.get("If-Match")
    expected_version = None
    if expected:
        try:
            expected_version = int(expected.strip('W/"'))
        except ValueError:
            raise InputError({"If-Match": ["Must be the case version you last saw, e.g. \"3\"."]}) from None
    case = case_service.complete_task(session, runtime(), g.user, task_id, json_body(), expected_version)
    session.commit()
    return jsonify(case_payload(session, case))


class ReadNotificationsSchema(Schema):
    class Meta:
        unknown = RAISE

    ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=MAX_ID)), required=True,
                      validate=validate.Length(min=1, max=500))


@bp.get("/notifications")
@token_required
def list_notifications():
    items = notifications.unread(get_session(), g.user.id)
    return jsonify({"items": [{"id": n.id, "kind": n.kind, "message": n.message, "case_id": n.case_id,
                               "created_at": n.created_at.isoformat()} for n in items]})


@bp.post("/notifications/read")
@token_required
def read_notifications():
    session = get_session()
    body = load(ReadNotificationsSchema(), json_body())
    changed = notifications.mark_read(session, g.user.id, body["ids"], runtime().clock())
    session.commit()
    return jsonify({"marked_read": changed})
