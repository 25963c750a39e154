"""Tasks (the inbox, one task with its form, assigning) and notifications as /api/v1 reads them."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.lifecycle.cases import SOURCES
from engine.process.forms import SafeString
from engine.queries.inbox import ASSIGNED, FLAGS

from web.api.schemas.common import (CATEGORY, MAX_ID, ORG, STAGE, CategoryRefSchema, JsonInteger, PageArgs,
                                    PageSchema, PersonSchema, Strict, text)


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
