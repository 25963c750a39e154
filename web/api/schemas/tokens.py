"""API tokens: listing, issuing (the secret shown once) and revoking."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.process.forms import SafeString

from web.api.schemas.common import PersonSchema, Strict


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
