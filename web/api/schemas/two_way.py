"""Two-way assessment: departments' ratings by their communities, rating rounds and their scores."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.process.forms import SafeString

from web.api.schemas.common import DEPARTMENT, ORG, JsonNumber, Strict


class PeriodArgs(Strict):
    from_ = fields.Date(data_key="from", required=True, metadata={"description": "First day (local time), inclusive."})
    to = fields.Date(required=True, metadata={"description": "Last day (local time), inclusive."})


class RatingsArgs(PeriodArgs):
    department = fields.String(required=True, validate=validate.Regexp(DEPARTMENT),
                               metadata={"description": "The department's code."})


class DepartmentTwoWaySchema(Schema):
    key = fields.String(attribute="code", required=True, metadata={"description": "The department's code."})
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    rated = fields.Integer(required=True, metadata={"description": "Closings its communities rated."})
    satisfied = fields.Integer(required=True)
    basically = fields.Integer(required=True)
    dissatisfied = fields.Integer(required=True)
    rating_score = fields.Float(required=True, allow_none=True,
                                metadata={"description": "Mean points of the ratings (assessment.toml "
                                                         "[two_way] points), 0–1; null when none."})
    round_scores = fields.Integer(required=True, metadata={"description": "Communities' score sheets in rounds "
                                                                          "whose period ends in this one."})
    round_score = fields.Float(required=True, allow_none=True, metadata={"description": "Their mean total, 0–100."})


class TwoWayListSchema(Schema):
    items = fields.List(fields.Nested(DepartmentTwoWaySchema), required=True)


class CaseRatingSchema(Schema):
    code = fields.String(attribute="case_code", required=True)
    community = fields.String(required=True)
    rating = fields.String(required=True)
    reason = fields.String(required=True)
    rated_at = fields.DateTime(required=True)


class CaseRatingListSchema(Schema):
    items = fields.List(fields.Nested(CaseRatingSchema), required=True)


class RoundCreateSchema(Strict):
    name = SafeString(required=True, validate=validate.Length(min=1, max=100), metadata={"example": "2026年第四季度"})
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    unit = fields.String(required=True, validate=validate.Regexp(ORG),
                         metadata={"description": "The district or street whose communities score.",
                                   "example": "110101"})


class RoundItemSchema(Schema):
    key = fields.String(required=True)
    zh = fields.String(required=True)
    en = fields.String(required=True)
    weight = fields.Float(required=True)
    max = fields.Float(required=True)


class RoundSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    unit = fields.String(attribute="unit_code", required=True)
    unit_name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "`open` or `closed`."})
    items = fields.List(fields.Nested(RoundItemSchema), required=True, metadata={"description": "What is scored."})
    may_score = fields.Boolean(required=True)
    may_close = fields.Boolean(required=True)


class RoundListSchema(Schema):
    items = fields.List(fields.Nested(RoundSchema), required=True)


class SheetRowSchema(Schema):
    department = fields.String(attribute="department_code", required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    cases = fields.Integer(required=True, metadata={"description": "Its cases of the community closed in the period."})
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True, allow_none=True)
    total = fields.Float(required=True, allow_none=True)
    comment = fields.String(required=True)


class SheetSchema(Schema):
    community = fields.String(attribute="community_code", required=True)
    community_name = fields.String(required=True)
    rows = fields.List(fields.Nested(SheetRowSchema), required=True)


class SheetListSchema(Schema):
    round = fields.Nested(RoundSchema, required=True)
    sheets = fields.List(fields.Nested(SheetSchema), required=True,
                         metadata={"description": "One per community you score for."})


class ScoresSchema(Strict):
    community = fields.String(required=True, validate=validate.Regexp(ORG))
    department = fields.String(required=True, validate=validate.Regexp(DEPARTMENT))
    scores = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=32)), values=JsonNumber(),
                         required=True, metadata={"description": "Points per item key, 0 … the item's max."})
    comment = SafeString(load_default="", validate=validate.Length(max=500))


class ScoreSchema(Schema):
    department = fields.String(attribute="department_code", required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    total = fields.Float(required=True, metadata={"description": "Σ weight × points ÷ max over Σ weight, 0–100."})
    comment = fields.String(required=True)
    at = fields.DateTime(required=True)


class ResultRowSchema(Schema):
    department = fields.String(attribute="department_code", required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    communities = fields.Integer(required=True)
    total = fields.Float(required=True)
    items = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)


class ResultsSchema(Schema):
    round = fields.Nested(RoundSchema, required=True)
    results = fields.List(fields.Nested(ResultRowSchema), required=True)


class TrailSchema(Schema):
    verified_at = fields.DateTime(required=True, allow_none=True,
                                  metadata={"description": "When the last intact check (`gridflow audit verify`) ran."})
    up_to_event_id = fields.Integer(required=True, allow_none=True,
                                    metadata={"description": "Every event up to this id was found intact."})
    up_to_at = fields.DateTime(required=True, allow_none=True, metadata={"description": "That event's time."})
    broken_at = fields.DateTime(required=True, allow_none=True,
                                metadata={"description": "When a later check found a break (null: none did)."})
    broken_event_id = fields.Integer(required=True, allow_none=True)
    problem = fields.String(required=True, allow_none=True, metadata={"description": "The first break it named."})
