"""Cases, their timeline, photos and internal comments as /api/v1 reads and writes them."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.city.coords import COORD_SYSTEMS
from engine.lifecycle.cases import SOURCES, URGENCIES
from engine.process.forms import SafeString, not_blank
from engine.queries.inbox import FLAGS
from engine.queries.search import STATUSES

from web.api.schemas.common import (CATEGORY, DEPARTMENT, MAX_ID, ORG, STAGE, CategoryRefSchema, JsonBoolean,
                                    JsonInteger, JsonNumber, OrgRefSchema, PageArgs, PageSchema, PersonSchema,
                                    Strict, text)


class CaseReportSchema(Strict):
    category_code = SafeString(required=True, validate=validate.Length(min=1, max=8),
                               metadata={"example": "E0102", "description": "A 小类 code from GET /categories."})
    grid_code = SafeString(load_default=None, validate=validate.Regexp(r"^\d{10,24}$", error="Must be a grid code of digits."),
                           metadata={"example": "110101001001001",
                                     "description": "A grid's code from GET /org-units?level=grid. Leave it out to "
                                                    "place the case by lat and lng in the grid that covers the point; "
                                                    "sent with a point, it must name that grid."})
    address = SafeString(load_default="", validate=validate.Length(max=255), metadata={"example": "南池子大街12号"})
    lat = JsonNumber(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    lng = JsonNumber(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    coord_system = SafeString(load_default="wgs84", validate=validate.OneOf(COORD_SYSTEMS), metadata={
        "description": "The datum of lat and lng: wgs84 (GPS, the default and what is stored) or gcj02 "
                       "(what Chinese map SDKs such as AMap and Tencent Maps return; converted to WGS-84)."})
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
    sms_text = fields.String(metadata={
        "description": "Only with tracking_url: a ready-to-send text message giving the reporter the case "
                       "code and the link (public.toml [sms]). Shown once, like the link."})


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
    updated_since = fields.AwareDateTime(metadata={
        "description": "Only cases changed (any step, timer or edit) at or after this moment, e.g. "
                       "2026-11-26T08:00:00+08:00: poll with the time of your previous poll to follow changes."})
    cursor = fields.String(validate=validate.Length(min=1, max=80), metadata={
        "description": "The next_cursor of the page before: the next page, newest first, stable while "
                       "new cases arrive. Use instead of offset (which is kept for older clients)."})


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
    total = fields.Integer(required=True, metadata={
        "description": "How many cases match, counted up to SEARCH_COUNT_LIMIT (1000 as shipped); "
                       "total_exact is false when more match."})
    total_exact = fields.Boolean(required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={
        "description": "Pass as cursor for the next page; null on the last page."})


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


class SupervisionStepSchema(Schema):
    """One task of a 督办: the order (addressee, what is required, level), a reply, or its review."""

    task_id = fields.Integer(required=True, attribute="task.id")
    task = fields.String(required=True, attribute="task.bpmn_id", metadata={"description": "BPMN task id"})
    name = fields.String(required=True, attribute="task.name")
    stage = fields.String(required=True, attribute="task.stage")
    status = fields.String(required=True, attribute="task.status")
    opened_at = fields.DateTime(required=True, attribute="task.created_at")
    due_at = fields.DateTime(required=True, allow_none=True, attribute="task.due_at",
                             metadata={"description": "A reply's deadline (its own clock)."})
    completed_at = fields.DateTime(required=True, allow_none=True, attribute="task.completed_at")
    completed_by = fields.Pluck("PersonSchema", "name", required=True, allow_none=True, attribute="task.completed_by")
    answers = fields.Dict(required=True, metadata={"description": "What was submitted: the order's "
                          "supervision_unit, supervision_note and supervision_level, a reply, a review's decision."})
    facts = fields.Dict(required=True, metadata={"description": "The order's facts kept on the task: "
                        "late stage and its due time, addressee, level name, reply due."})


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
    supervision = fields.List(fields.Nested(SupervisionStepSchema), required=True,
                              metadata={"description": "The case's 督办, every order, reply and review, oldest first."})


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
