"""Administration through the API: users and their memberships, org units, departments,
categories, the city import and the change log."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.process.forms import SafeString

from web.api.schemas.common import JsonBoolean, PageArgs, PageSchema, Strict
from web.api.schemas.reference import CategorySchema, DepartmentSchema, OrgUnitSchema

USERNAME = r"^[A-Za-z0-9_.\-]{1,64}$"
KINDS = ("user", "org_unit", "department", "category", "city")


class MembershipSchema(Strict):
    role = SafeString(required=True, validate=validate.Length(max=32), metadata={"example": "acceptance_clerk"})
    org_unit = SafeString(load_default="", validate=validate.Length(max=32),
                          metadata={"description": "The org unit's code; give this or `department`."})
    department = SafeString(load_default="", validate=validate.Length(max=20),
                            metadata={"description": "The department's code; give this or `org_unit`."})


MEMBERSHIPS = dict(validate=validate.Length(max=50), metadata={
    "description": "Each role on an org unit or a department, checked as the city import checks memberships.csv "
                   "(policy.toml roles.held_at says where each role may be held)."})


class UserCreateSchema(Strict):
    username = SafeString(required=True, validate=validate.Length(max=64), metadata={"example": "clerk_new"})
    name = SafeString(required=True, validate=validate.Length(max=64))
    locale = fields.String(load_default="zh", validate=validate.OneOf(("zh", "en")))
    memberships = fields.List(fields.Nested(MembershipSchema), load_default=list, **MEMBERSHIPS)


class UserUpdateSchema(Strict):
    name = SafeString(validate=validate.Length(max=64))
    locale = fields.String(validate=validate.OneOf(("zh", "en")))
    memberships = fields.List(fields.Nested(MembershipSchema), **MEMBERSHIPS | {"metadata": {
        "description": "Replaces every membership the user holds; " + MEMBERSHIPS["metadata"]["description"]}})


class MembershipOutSchema(Schema):
    role = fields.String(required=True)
    org_unit = fields.String(required=True)
    department = fields.String(required=True)


class AdminUserSchema(Schema):
    username = fields.String(required=True, attribute="user.username")
    name = fields.String(required=True, attribute="user.name")
    locale = fields.String(required=True, attribute="user.locale")
    active = fields.Boolean(required=True, attribute="user.active")
    memberships = fields.List(fields.Nested(MembershipOutSchema), required=True)


class AdminUserListSchema(Schema):
    items = fields.List(fields.Nested(AdminUserSchema), required=True)


class UserArgs(Strict):
    q = SafeString(load_default="", validate=validate.Length(max=64),
                   metadata={"description": "Part of a username or name."})


class UserCreatedSchema(AdminUserSchema):
    initial_code = fields.String(required=True, metadata={
        "description": "Shown only in this response. The user signs in once with their username and this "
                       "code, and chooses their own password; it signs in to nothing else."})
    initial_code_expires_at = fields.DateTime(required=True, metadata={"description": "The code works until then."})


class InitialCodeSchema(Schema):
    username = fields.String(required=True)
    initial_code = fields.String(required=True, metadata={
        "description": "Shown only here: the user signs in once with it and chooses a new password."})
    expires_at = fields.DateTime(required=True)


class PasswordLinkSchema(Schema):
    username = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "The one-time link to hand on; shown only here."})
    expires_at = fields.DateTime(required=True)


class AdminOrgUnitSchema(OrgUnitSchema):
    area_type = fields.String(required=True)
    active = fields.Boolean(required=True)


class AdminOrgUnitListSchema(Schema):
    items = fields.List(fields.Nested(AdminOrgUnitSchema), required=True)


class OrgUnitUpdateSchema(Strict):
    name = SafeString(validate=validate.Length(max=100))
    name_en = SafeString(validate=validate.Length(max=100))
    area_type = fields.String(validate=validate.Length(max=16), metadata={"description": "core or fringe."})
    active = JsonBoolean()


class DepartmentWriteSchema(Strict):
    name = SafeString(validate=validate.Length(max=100))
    name_en = SafeString(validate=validate.Length(max=100))
    level = fields.String(validate=validate.Length(max=16), metadata={"description": "city, district or street."})
    active = JsonBoolean()


class DepartmentCreateSchema(DepartmentWriteSchema):
    code = SafeString(required=True, validate=validate.Length(max=20), metadata={"example": "WX"})
    name = SafeString(required=True, validate=validate.Length(max=100))


class AdminDepartmentSchema(DepartmentSchema):
    active = fields.Boolean(required=True)


class AdminDepartmentListSchema(Schema):
    items = fields.List(fields.Nested(AdminDepartmentSchema), required=True)


class CategoryWriteSchema(Strict):
    kind = fields.String(validate=validate.Length(max=10), metadata={"description": "event or component."})
    major_code = fields.String(validate=validate.Length(max=2))
    major_name = SafeString(validate=validate.Length(max=50))
    major_name_en = SafeString(validate=validate.Length(max=80))
    minor_code = fields.String(validate=validate.Length(max=2))
    name = SafeString(validate=validate.Length(max=50))
    name_en = SafeString(validate=validate.Length(max=80))
    emergency = JsonBoolean()
    default_department = fields.String(allow_none=True, validate=validate.Length(max=20))
    active = JsonBoolean()


class CategoryCreateSchema(CategoryWriteSchema):
    code = SafeString(required=True, validate=validate.Length(max=8), metadata={"example": "E0199"})


class AdminCategoryListSchema(Schema):
    items = fields.List(fields.Nested(CategorySchema), required=True)


class CityImportArgs(Strict):
    dry_run = fields.Boolean(load_default=True, metadata={"description": "Check and report what would change, "
                                                                          "writing nothing (the default)."})


class CityImportUploadSchema(Strict):
    files = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}), required=True, metadata={
        "description": "The city's sheets and GeoJSON files, or one zip of them."})


class CityImportSchema(Schema):
    dry_run = fields.Boolean(required=True)
    changes = fields.List(fields.String(), required=True)
    passwords = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                            metadata={"description": "Initial codes of new users (not in a dry run), shown once: each "
                                      "works once, until codes_expire, to choose the user's password at sign-in."})
    codes_expire = fields.DateTime(allow_none=True, metadata={"description": "When the initial codes stop working."})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ChangeArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(KINDS))
    code = SafeString(validate=validate.Length(max=64), metadata={"description": "The changed record's code or username."})
    actor = SafeString(validate=validate.Length(max=64), metadata={"description": "Who made the change (username)."})
    since = fields.DateTime(metadata={"description": "Changes at or after this time (ISO 8601 with a zone)."})
    until = fields.DateTime(metadata={"description": "Changes before this time."})


class ChangeSchema(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime(required=True)
    actor = fields.Function(lambda c: c.actor.username if c.actor else None, required=True, allow_none=True,
                            metadata={"type": "string", "nullable": True})
    action = fields.String(required=True)
    target_kind = fields.String(required=True)
    target_code = fields.String(required=True)
    old = fields.Dict(required=True, allow_none=True)
    new = fields.Dict(required=True, allow_none=True)


class ChangeListSchema(PageSchema):
    items = fields.List(fields.Nested(ChangeSchema), required=True)
