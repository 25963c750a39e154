"""marshmallow schemas: the JSON contract of /api/v1."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from engine.cases import SOURCES, URGENCIES
from engine.forms import SafeString, not_blank


class CaseReportSchema(Schema):
    class Meta:
        unknown = RAISE

    category_code = SafeString(required=True, validate=validate.Length(min=1, max=8))
    grid_code = SafeString(required=True, validate=validate.Regexp(r"^\d{10,24}$", error="Must be a grid code of digits."))
    address = SafeString(load_default="", validate=validate.Length(max=255))
    lat = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-90, 90))
    lng = fields.Float(load_default=None, allow_none=True, validate=validate.Range(-180, 180))
    description = SafeString(required=True, validate=[validate.Length(min=2, max=4000), not_blank])
    source = SafeString(load_default="app", validate=validate.OneOf(SOURCES))
    urgency = SafeString(load_default="normal", validate=validate.OneOf(URGENCIES))
    reporter_name = SafeString(load_default="", validate=validate.Length(max=64))
    reporter_phone = SafeString(load_default="", validate=validate.Regexp(
        r"^[0-9+\- ]{0,32}$", error="Must be digits, spaces, + or - (at most 32)."))
    self_handled = fields.Boolean(load_default=False)


class FormFieldSchema(Schema):
    id = fields.String()
    label = fields.String()
    type = fields.String()
    default = fields.String(allow_none=True)
    options = fields.Method("_options")
    constraints = fields.Method("_constraints")

    def _options(self, f):
        return [{"id": i, "name": n} for i, n in f.options]

    def _constraints(self, f):
        return {name: config for name, config in f.constraints}


class TaskSchema(Schema):
    id = fields.Integer()
    case_code = fields.Function(lambda t: t.case.code)
    case_version = fields.Function(lambda t: t.case.version)
    category = fields.Function(lambda t: {"code": t.case.category.code, "name": t.case.category.name})
    bpmn_id = fields.String()
    name = fields.String()
    stage = fields.String()
    role = fields.String()
    scope = fields.String(attribute="scope_key")
    assignee = fields.Function(lambda t: t.assignee.username if t.assignee else None)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)


class EventSchema(Schema):
    at = fields.DateTime()
    kind = fields.String()
    actor = fields.Function(lambda e: e.actor.name if e.actor else None)
    task = fields.String(attribute="task_name", allow_none=True)
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String(allow_none=True)
    data = fields.Dict()


class OpenTaskSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    stage = fields.String()
    role = fields.String()
    due_at = fields.DateTime(allow_none=True)


class CaseSchema(Schema):
    code = fields.String()
    version = fields.Integer()
    status = fields.String()
    stage = fields.String()
    category = fields.Function(lambda c: {"code": c.category.code, "name": c.category.name,
                                          "name_en": c.category.name_en, "emergency": c.category.emergency})
    grid = fields.Function(lambda c: {"code": c.grid.code, "name": c.grid.name})
    address = fields.String()
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    description = fields.String()
    source = fields.String()
    urgency = fields.String()
    self_handled = fields.Boolean()
    department_code = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    due_times = fields.Dict()
    at_risk = fields.Boolean()
    overdue = fields.Boolean()
    escalation_level = fields.Integer()
    calendar_estimated = fields.Boolean()
    incident = fields.String(allow_none=True)
    duplicate_of = fields.Function(lambda c: c.duplicate_of.code if c.duplicate_of else None)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
