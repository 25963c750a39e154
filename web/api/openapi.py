"""The OpenAPI 3 document of /api/v1, built from the operations' declarations and their marshmallow
schemas (apispec), and a docs page rendered from that document on the server."""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, jsonify, render_template

from web.api.core import PROBLEM, Operation, bp
from web.api.schemas.common import MAX_ID, ProblemSchema
from web.api.schemas.tasks import OptionSchema

TITLE = "gridflow API"
INTRO = ("Case management for grid-governance centres. Authenticate with a bearer token "
         "(`gridflow users token USERNAME`, or POST /api/v1/tokens); a token acts with exactly its user's roles "
         "and scope. Errors are application/problem+json with `errors: [{field, message}]`. Case and task "
         "representations carry `version` and an ETag header; send it back in If-Match on writes: a stale one is "
         "412 and changes nothing.")
STATUS_TEXT = {
    400: "The body is not what this operation reads (malformed JSON, not an object, not multipart).",
    401: "No token, or an unknown, revoked or deactivated user's token.",
    403: "You may see this, but your roles do not allow this action.",
    404: "No such resource, or not in your scope (the two are not told apart).",
    409: "The task is finished, or someone else holds it.",
    412: "If-Match names a version that is no longer current; nothing changed.",
    413: "The upload is too large.",
    422: "Invalid fields, query arguments or headers; every one is listed in `errors`.",
}
PATH_PARAMS = {
    "code": ({"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,32}$"}, "A public case code such as GF2026112600001."),
    "task_id": ({"type": "integer", "minimum": 1, "maximum": MAX_ID}, "A task id."),
    "attachment_id": ({"type": "integer", "minimum": 1, "maximum": MAX_ID}, "An attachment id."),
    "username": ({"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,64}$"}, "A username such as clerk_dhm."),
    "unit_code": ({"type": "string", "pattern": r"^[0-9]{1,32}$"}, "An org unit's code such as 110101001."),
    "department_code": ({"type": "string", "pattern": r"^[A-Z][A-Z0-9_]{0,19}$"}, "A department's code such as HW."),
    "category_code": ({"type": "string", "pattern": r"^[A-Za-z0-9]{1,8}$"}, "A category's code such as E0102."),
    "token_id": ({"type": "integer", "minimum": 1, "maximum": MAX_ID}, "A token id."),
    "version": ({"type": "integer", "minimum": 1, "maximum": 2 ** 31 - 1}, "A process version number."),
    "key": ({"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,100}$"}, "A process key such as grid_case."),
    "name": ({"type": "string", "pattern": r"^[A-Za-z0-9_.-]{1,100}$"}, "A file name such as grid_case.bpmn."),
    "round_id": ({"type": "integer", "minimum": 1, "maximum": MAX_ID}, "A rating round's id."),
}
_ARG = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
IF_MATCH = {"in": "header", "name": "If-Match", "required": False,
            "description": 'The ETag you last received, e.g. "3.2" for a task or "3" for its case; '
                           'without it the write is not checked against your version.',
            "schema": {"type": "string", "pattern": r'^(\*|(W/)?"?[0-9]{1,18}(\.[0-9]{1,18})?"?)$'}}
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "description": "A key you make for this report (a UUID): sending the same report again "
                                  "with the same key answers the first case instead of making another. The "
                                  "same key with a different report is a 409.",
                   "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{8,200}$"}}


def build_spec(app: Flask) -> dict:
    spec = APISpec(title=TITLE, version="1", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": INTRO})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=ProblemSchema)
    spec.components.schema("Option", schema=OptionSchema)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = getattr(app.view_functions.get(rule.endpoint), "operation", None)
        if op is None or not rule.endpoint.startswith(bp.name + "."):
            continue
        path = _ARG.sub(r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(op, rule.endpoint, _ARG.findall(rule.rule))
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _operation(op: Operation, endpoint: str, path_args: list[str]) -> dict:
    out: dict = {"summary": op.summary, "operationId": endpoint.split(".", 1)[1], "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    params = [{"in": "path", "name": name, "required": True, "schema": PATH_PARAMS[name][0],
               "description": PATH_PARAMS[name][1]} for name in path_args]
    if op.query:
        params.append({"in": "query", "schema": op.query})
    if op.if_match:
        params.append(IF_MATCH)
    if op.idempotent:
        params.append(IDEMPOTENCY_KEY)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    elif op.multipart:
        out["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": op.multipart}}}
    if not op.auth:
        out["security"] = []
    out["responses"] = {str(op.status): _success(op)}
    codes = op.error_codes() + ([404] if path_args and 404 not in op.error_codes() else [])
    # Any request may carry control characters in its path or query, which are refused with 422.
    codes = sorted(set(codes) | {422})
    for code in sorted(codes):
        response = {"description": STATUS_TEXT.get(code, "Error"),
                    "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        if code == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        out["responses"][str(code)] = response
    return out


def _success(op: Operation) -> dict:
    response: dict = {"description": "Created" if op.status == 201 else "OK"}
    if op.media:
        response["content"] = {m: {"schema": {"type": "string", "format": "binary"}} for m in op.media}
    elif op.response:
        response["content"] = {"application/json": {"schema": op.response}}
    headers = {}
    if op.etag:
        headers["ETag"] = {"description": "The representation's version, for If-Match.", "schema": {"type": "string"}}
    if op.status == 201:
        headers["Location"] = {"description": "The new resource's URL.", "schema": {"type": "string"}}
    if headers:
        response["headers"] = headers
    return response


def api_spec() -> dict:
    """The document of the running app, built once."""
    cached = current_app.extensions.get("gridflow.openapi")
    if cached is None:
        cached = current_app.extensions["gridflow.openapi"] = build_spec(current_app)
    return cached


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(api_spec())


@bp.get("/docs")
def docs():
    spec = api_spec()
    schemas = spec["components"]["schemas"]
    operations = [{"method": method.upper(), "path": path, **op}
                  for path, ops in spec["paths"].items() for method, op in ops.items()]
    tags = sorted({op["tags"][0] for op in operations}, key=["cases", "tasks", "notifications", "assessment",
                                                            "reference", "admin", "tokens"].index)
    return render_template("api_docs.html", spec=spec, tags=tags, operations=operations, schemas=schemas,
                           describe=describe, ref_name=ref_name)


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def describe(schema: dict) -> str:
    """A short human reading of a JSON Schema: its type, its limits, whether it may be null."""
    if "$ref" in schema:
        return ref_name(schema["$ref"])
    kind = schema.get("type", "any")
    if kind == "array":
        kind = f"array of {describe(schema.get('items', {}))}"
    elif kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        kind = f"object of {describe(schema['additionalProperties'])}"
    notes = []
    if "format" in schema:
        notes.append(schema["format"])
    if "enum" in schema:
        notes.append("one of " + ", ".join(str(v) for v in schema["enum"] if v is not None))
    if "pattern" in schema:
        notes.append(f"pattern {schema['pattern']}")
    for low, high, what in (("minimum", "maximum", ""), ("minLength", "maxLength", " characters"),
                            ("minItems", "maxItems", " items")):
        if low in schema or high in schema:
            notes.append(f"{schema.get(low, '')}…{schema.get(high, '')}{what}")
    if schema.get("nullable"):
        notes.append("may be null")
    return kind + (f" ({'; '.join(notes)})" if notes else "")
