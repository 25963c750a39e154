"""marshmallow schemas: the JSON contract of /api/v1, requests and responses alike.

The OpenAPI document is generated from these classes (web/openapi.py), so every field a
view reads or writes is declared here with its type, limits and whether it may be null.
It is longer than our usual module on purpose: it is the whole contract in one place, made of
declarations only, and the shared field types and references sit beside the schemas using them.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from engine.lifecycle.cases import SOURCES, URGENCIES
from engine.process.forms import SafeString, not_blank
from engine.queries.inbox import ASSIGNED, CATEGORY_CODE, FLAGS, MAX_PAGE, ORG_CODE, STAGE_CODE
from engine.access.org import DEPT_CODE
from engine.queries.search import STATUSES

MAX_ID = 2 ** 63 - 1  # the largest id a database column holds
# The same shapes the engine's filters check (one definition, there).
STAGE, CATEGORY, ORG = STAGE_CODE.pattern, CATEGORY_CODE.pattern, ORG_CODE.pattern
DEPARTMENT = DEPT_CODE.pattern


class Strict(Schema):
    """A request schema: an unknown field is an error naming it, not silently dropped."""

    class Meta:
        unknown = RAISE


class JsonBoolean(fields.Boolean):
    """true or false as JSON has them; 0, 1 and "yes" are type errors, not guesses."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


class JsonInteger(fields.Integer):
    """A JSON integer: "12", 1.5 and true are type errors."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Must be an integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonNumber(fields.Float):
    """A JSON number: "1.5" and true are type errors."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Must be a number.")
        return super()._deserialize(value, attr, data, **kwargs)


def text(**kwargs):
    """A string field that may be null in a response."""
    return fields.String(allow_none=True, **kwargs)


# -- errors -------------------------------------------------------------------------------------
class FieldErrorSchema(Schema):
    field = fields.String(required=True, metadata={"description": "The field, query argument or header at fault."})
    message = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details; ``errors`` lists every field at fault."""

    type = fields.String(required=True)
    title = fields.String(required=True, metadata={"description": "A short code: invalid_input, not_found, conflict…"})
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldErrorSchema))


# -- paging -------------------------------------------------------------------------------------
class PageArgs(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, MAX_ID))


class PageSchema(Schema):
    total = fields.Integer(required=True, metadata={"description": "How many items match, over all pages."})
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


# -- references ---------------------------------------------------------------------------------
class CategoryRefSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    emergency = fields.Boolean(required=True)


class OrgRefSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


# -- cases --------------------------------------------------------------------------------------
class CaseReportSchema(Strict):
    category_code = SafeString(required=True, validate=validate.Length(min=1, max=8),
                               metadata={"example": "E0102", "description": "A 小类 code from GET /categories."})
    grid_code = SafeString(required=True, validate=validate.Regexp(r"^\d{10,24}$", error="Must be a grid code of digits."),
                           metadata={"example": "110101001001001", "description": "A grid's code from GET /org-units?level=grid."})
    address = SafeString(load_default="", validate=validate.Length(max=255), metadata={"example": "南池子大街12号"})
    lat = JsonNumber(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    lng = JsonNumber(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    description = SafeString(required=True, validate=[validate.Length(min=2, max=4000), not_blank],
                             metadata={"example": "路边堆放生活垃圾"})
    source = SafeString(load_default="app", validate=validate.OneOf(SOURCES), metadata={"example": "hotline"})
    urgency = SafeString(load_default="normal", validate=validate.OneOf(URGENCIES))
    reporter_name = SafeString(load_default="", validate=validate.Length(max=64))
    reporter_phone = SafeString(load_default="", validate=validate.Regexp(
        r"^[0-9+\- ]{0,32}$", error="Must be digits, spaces, + or - (at most 32)."), metadata={"example": "13900001111"})
    self_handled = JsonBoolean(load_default=False)


class CaseCreatedSchema(Schema):
    code = fields.String(required=True, metadata={"description": "The public case code, e.g. GF2026112600001."})
    status = fields.String(required=True)
    stage = fields.String(required=True)
    version = fields.Integer(required=True)
    tracking_url = fields.String(metadata={
        "description": "Only for resident reports (hotline, app, web, open311): the reporter's private page "
                       "to add information and rate the result. Shown once; pass it on to the reporter."})


class CaseSearchArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=100),
                      metadata={"description": "A case code, or words of the address or description."})
    status = fields.String(validate=validate.OneOf(STATUSES))
    stage = fields.String(validate=validate.Regexp(STAGE))
    category = fields.String(validate=validate.Regexp(CATEGORY), metadata={"description": "A 大类 (E01) or 小类 (E0102) code."})
    org = fields.String(validate=validate.Regexp(ORG), metadata={"description": "Code of a district, street, community or grid."})
    department = fields.String(validate=validate.Regexp(DEPARTMENT))
    source = fields.String(validate=validate.OneOf(SOURCES))
    flag = fields.String(validate=validate.OneOf(FLAGS))
    created_from = fields.Date(metadata={"description": "First day (local time), inclusive."})
    created_to = fields.Date(metadata={"description": "Last day (local time), inclusive."})


class CaseSummarySchema(Schema):
    code = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "Changes with every step; send it back in If-Match."})
    status = fields.String(required=True)
    stage = fields.String(required=True)
    category = fields.Nested(CategoryRefSchema, required=True)
    grid = fields.Nested(OrgRefSchema, required=True)
    address = fields.String(required=True)
    source = fields.String(required=True)
    urgency = fields.String(required=True)
    department_code = text(required=True)
    due_at = fields.DateTime(required=True, allow_none=True)
    at_risk = fields.Boolean(required=True)
    overdue = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    closed_at = fields.DateTime(required=True, allow_none=True)


class CasePageSchema(PageSchema):
    items = fields.List(fields.Nested(CaseSummarySchema), required=True)


class EventSchema(Schema):
    at = fields.DateTime(required=True)
    kind = fields.String(required=True)
    actor = fields.Pluck("PersonSchema", "name", required=True, allow_none=True)
    task = text(attribute="task_name", required=True)
    from_stage = text(required=True)
    to_stage = text(required=True)
    data = fields.Dict(required=True)


class EventListSchema(Schema):
    items = fields.List(fields.Nested(EventSchema), required=True)


class OpenTaskSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    stage = fields.String(required=True)
    role = fields.String(required=True)
    due_at = fields.DateTime(required=True, allow_none=True)


class CaseSchema(CaseSummarySchema):
    lat = fields.Float(required=True, allow_none=True)
    lng = fields.Float(required=True, allow_none=True)
    description = fields.String(required=True)
    self_handled = fields.Boolean(required=True)
    due_times = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), required=True,
                            metadata={"description": "Due time of each timed stage (ISO 8601)."})
    escalation_level = fields.Integer(required=True)
    calendar_estimated = fields.Boolean(required=True)
    incident = text(required=True)
    duplicate_of = fields.Pluck("CaseRefSchema", "code", required=True, allow_none=True)
    open_tasks = fields.List(fields.Nested(OpenTaskSchema), required=True)
    timeline = fields.List(fields.Nested(EventSchema), required=True)


class CaseRefSchema(Schema):
    code = fields.String(required=True)


class PersonSchema(Schema):
    username = fields.String(required=True)
    name = fields.String(required=True)


# -- attachments and comments ---------------------------------------------------------------------
class AttachmentUploadSchema(Strict):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "A JPEG, PNG or WebP photo."})
    task_id = fields.Integer(validate=validate.Range(1, MAX_ID),
                             metadata={"description": "An open task of this case the photo belongs to."})


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    task_id = fields.Integer(required=True, allow_none=True)
    uploaded_by = fields.Pluck(PersonSchema, "name", required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class AttachmentListSchema(Schema):
    items = fields.List(fields.Nested(AttachmentSchema), required=True)


class CommentArgs(Strict):
    body = SafeString(required=True, validate=validate.Length(min=1, max=2000), metadata={"example": "已电话联系报告人"})
    task_id = JsonInteger(validate=validate.Range(1, MAX_ID))


class CommentSchema(Schema):
    id = fields.Integer(required=True)
    body = fields.String(required=True)
    author = fields.Pluck(PersonSchema, "name", required=True, allow_none=True)
    task_id = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class CommentListSchema(Schema):
    items = fields.List(fields.Nested(CommentSchema), required=True)


# -- tasks --------------------------------------------------------------------------------------
class OptionSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class FormFieldSchema(Schema):
    id = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True, metadata={"description": "string, long, boolean, date or enum."})
    default = text(required=True)
    options = fields.Function(lambda f: [{"id": i, "name": n} for i, n in f.options], required=True,
                              metadata={"type": "array", "items": {"$ref": "#/components/schemas/Option"}})
    constraints = fields.Function(lambda f: {name: config for name, config in f.constraints}, required=True,
                                  metadata={"type": "object", "additionalProperties": {"type": "string", "nullable": True},
                                            "description": "Validation rules: required, minlength, max, …"})


class InboxArgs(PageArgs):
    stage = fields.String(validate=validate.Regexp(STAGE))
    category = fields.String(validate=validate.Regexp(CATEGORY))
    org = fields.String(validate=validate.Regexp(ORG), metadata={"description": "Code of a street, community or grid."})
    flag = fields.String(validate=validate.OneOf(FLAGS))
    source = fields.String(validate=validate.OneOf(SOURCES))
    assigned = fields.String(validate=validate.OneOf(ASSIGNED))
    team = fields.Boolean(metadata={"description": "A shift leader's view: every open task of the cases they lead."})


class TeamArgs(Strict):
    team = fields.Boolean()


def task_etag(task) -> str:
    """A task changes when its case steps on or when it is claimed, unclaimed or assigned."""
    return f"{task.case.version}.{task.version}"


class TaskSchema(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={"description": "Bumped by claim, unclaim and assign."})
    etag = fields.Function(task_etag, required=True, metadata={
        "type": "string", "description": "case_version.version; send it quoted in If-Match."})
    status = fields.String(required=True)
    case_code = fields.String(attribute="case.code", required=True)
    case_version = fields.Integer(attribute="case.version", required=True)
    category = fields.Nested(CategoryRefSchema, attribute="case.category", required=True)
    bpmn_id = fields.String(required=True)
    name = fields.String(required=True)
    stage = fields.String(required=True)
    role = fields.String(required=True)
    scope = fields.String(attribute="scope_key", required=True)
    assignee = fields.Pluck(PersonSchema, "username", required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    due_at = fields.DateTime(required=True, allow_none=True)
    due_estimated = fields.Boolean(required=True, metadata={
        "description": "due_at was computed without the official holiday arrangement of its year."})
    form = fields.List(fields.Nested(FormFieldSchema), required=True)


class InboxPageSchema(PageSchema):
    items = fields.List(fields.Nested(TaskSchema), required=True)


class InboxCountsSchema(Schema):
    all = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    at_risk = fields.Integer(required=True)
    me = fields.Integer(required=True)
    unassigned = fields.Integer(required=True)
    stages = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class TaskDetailSchema(TaskSchema):
    values = fields.Dict(required=True, metadata={"description": "The form's values prefilled from the case."})
    completed_at = fields.DateTime(required=True, allow_none=True)


class AssignArgs(Strict):
    assignee = SafeString(required=True, validate=validate.Length(min=1, max=64),
                          metadata={"description": "Username of a person who may take the task."})


class PersonListSchema(Schema):
    items = fields.List(fields.Nested(PersonSchema), required=True)


# -- reference data -------------------------------------------------------------------------------
class CategorySchema(Schema):
    code = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "事件 (event) or 部件 (component)."})
    major_code = fields.String(required=True)
    major_name = fields.String(required=True)
    major_name_en = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    emergency = fields.Boolean(required=True)
    default_department = text(required=True)
    active = fields.Boolean(required=True)


class CategoryListSchema(Schema):
    items = fields.List(fields.Nested(CategorySchema), required=True)


LEVELS = ("city", "district", "street", "community", "grid")


class OrgUnitArgs(Strict):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent = fields.String(validate=validate.Regexp(ORG), metadata={"description": "Only the children of this unit."})


class OrgUnitSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    level = fields.String(required=True)
    parent_code = fields.Pluck(OrgRefSchema, "code", attribute="parent", required=True, allow_none=True)
    lat = fields.Float(required=True, allow_none=True)
    lng = fields.Float(required=True, allow_none=True)


class OrgUnitListSchema(Schema):
    items = fields.List(fields.Nested(OrgUnitSchema), required=True)


class DepartmentSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    level = fields.String(required=True)


class DepartmentListSchema(Schema):
    items = fields.List(fields.Nested(DepartmentSchema), required=True)


class ProcessVersionSchema(Schema):
    key = fields.String(required=True)
    version = fields.Integer(required=True)
    hash = fields.String(attribute="content_hash", required=True, metadata={"description": "SHA-256 of the source files."})
    deployed_at = fields.DateTime(required=True)


class ProcessVersionListSchema(Schema):
    items = fields.List(fields.Nested(ProcessVersionSchema), required=True)


class ProcessVersionDetailSchema(ProcessVersionSchema):
    files = fields.Function(lambda v: sorted(v.source_files), required=True,
                            metadata={"type": "array", "items": {"type": "string"},
                                      "description": "Names of the BPMN and DMN files; GET …/files/{name} reads one."})


# -- notifications and tokens --------------------------------------------------------------------
class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    message = fields.String(required=True)
    case_id = fields.Integer(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema), required=True)


class ReadNotificationsSchema(Strict):
    ids = fields.List(JsonInteger(validate=validate.Range(min=1, max=MAX_ID)), required=True,
                      validate=validate.Length(min=1, max=500))


class MarkedReadSchema(Schema):
    marked_read = fields.Integer(required=True)


class TokenArgs(Strict):
    user = fields.String(validate=validate.Length(min=1, max=64),
                         metadata={"description": "Admins only: whose tokens (default: your own)."})


class TokenCreateSchema(Strict):
    name = SafeString(load_default="", validate=validate.Length(max=100), metadata={"example": "12345 hotline bridge"})
    user = SafeString(validate=validate.Length(min=1, max=64),
                      metadata={"description": "Admins only: issue the token for this user (default: yourself)."})


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    user = fields.Pluck(PersonSchema, "username", required=True)
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(required=True, allow_none=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)


class TokenListSchema(Schema):
    items = fields.List(fields.Nested(TokenSchema), required=True)


class TokenCreatedSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "The secret; shown only in this response."})
