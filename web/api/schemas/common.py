"""Shared pieces of the /api/v1 contract: strict request schemas, JSON-typed fields, the error
shape, paging, and the small references other schemas nest."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from engine.access.org import DEPT_CODE
from engine.queries.inbox import CATEGORY_CODE, MAX_PAGE, ORG_CODE, STAGE_CODE

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
    errors_omitted = fields.Integer(metadata={"description": "How many further field errors were left out "
                                                             "(the list is capped)."})
    element = fields.String(metadata={"description": "With step_failed: the process element that failed; "
                                                     "the case has an incident and nothing was kept."})


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


class CaseRefSchema(Schema):
    code = fields.String(required=True)


class PersonSchema(Schema):
    username = fields.String(required=True)
    name = fields.String(required=True)
