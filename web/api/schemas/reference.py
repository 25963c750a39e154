"""Reference data: the category catalogue, the org tree, departments and process versions."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from web.api.schemas.common import ORG, OrgRefSchema, Strict, text


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
    deployed_by = fields.String(allow_none=True, metadata={
        "description": "Who deployed it: a username (the studio) or cli:<os user> (gridflow processes deploy)."})
    note = fields.String(allow_none=True, metadata={"description": "What the version changes, as its deployer said."})


class ProcessVersionListSchema(Schema):
    items = fields.List(fields.Nested(ProcessVersionSchema), required=True)


class ProcessVersionDetailSchema(ProcessVersionSchema):
    files = fields.Function(lambda v: sorted(v.source_files), required=True,
                            metadata={"type": "array", "items": {"type": "string"},
                                      "description": "Names of the BPMN and DMN files; GET …/files/{name} reads one."})
