"""Assessment figures as /api/v1 reads them: the period and grouping asked for, one item per unit
with its counts (integers) and rates (fractions in [0, 1], null without a denominator)."""
from __future__ import annotations

from marshmallow import Schema, fields, post_dump, validate

from engine.process.assessment import GROUPINGS

from web.api.schemas.common import PageArgs, PageSchema, Strict

COUNTS = ("received", "filed", "due_to_close", "closed", "closed_on_time", "reworked", "extended", "returned",
          "overdue", "handled", "dispatched", "cancelled", "duplicates", "parked", "supervised")
RATES = ("filing_rate", "closing_rate", "on_time_closing_rate", "rework_rate", "extension_rate", "return_rate",
         "satisfaction_rate", "handling_rate", "on_time_handling_rate", "response_rate", "resolution_rate",
         "hotline_three_rates")


class PeriodArgs(Strict):
    from_ = fields.String(data_key="from", validate=validate.Length(max=10),
                          metadata={"description": "First day (local time), inclusive, e.g. 2026-11-01; with `to`."})
    to = fields.String(validate=validate.Length(max=10), metadata={"description": "Last day, inclusive."})
    month = fields.String(validate=validate.Length(max=7), metadata={"example": "2026-11"})
    quarter = fields.String(validate=validate.Length(max=7), metadata={"example": "2026Q4"})
    year = fields.String(validate=validate.Length(max=4), metadata={"example": "2026"})
    by = fields.String(load_default="street", validate=validate.OneOf(GROUPINGS),
                       metadata={"description": "How items are grouped; `category` is the 小类, `major` the 大类."})


class AssessmentArgs(PeriodArgs):
    compare = fields.Boolean(load_default=False, metadata={"description": "Add each item's figures of the "
                                                                          "previous period as `previous`."})


class CasesBehindArgs(PeriodArgs, PageArgs):
    key = fields.String(validate=validate.Length(min=1, max=64),
                        metadata={"description": "The item's key (unit code, department code, username, category "
                                                 "code or source); without it, the whole scope."})
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=40),
                              metadata={"description": "A count or rate field of the items, e.g. closed or closing_rate."})
    part = fields.String(load_default="numerator", validate=validate.OneOf(("numerator", "denominator")),
                         metadata={"description": "For a rate: the cases of its numerator or of its denominator."})
    detail = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "For a broken-down count (`cancelled`): only the cases of this value, e.g. `invalid`."})


def _indicator_fields() -> dict:
    out = {name: fields.Integer(required=True) for name in COUNTS}
    out.update({name: fields.Float(required=True, allow_none=True, validate=validate.Range(0, 1)) for name in RATES})
    out["overdue_hours"] = fields.Float(required=True, metadata={"description": "Working hours late, added up."})
    out["cancelled_by"] = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "注销 by reason (the acceptance form's cancel_reason: invalid, out_of_scope …) → cases; "
                       "every breakdown of the assessment file's [breakdowns] comes as `<count>_by`."})
    return out


class _Values(Schema):
    """Every count and rate of the assessment file; those listed are always there."""

    @post_dump(pass_original=True)
    def everything(self, data, original, **kwargs):
        return {**original.values, **data} if hasattr(original, "values") else data


Values = _Values.from_dict(_indicator_fields(), name="AssessmentValues")


class AssessmentItemSchema(Values):
    key = fields.String(allow_none=True, required=True, metadata={
        "description": "The unit's code, the department's code, the username, the category code or the source; "
                       "null for the total."})
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    score = fields.Float(allow_none=True, metadata={"description": "The role score (0–100) where one applies."})
    score_name = fields.String(allow_none=True)
    grade = fields.String(allow_none=True)


class PeriodSchema(Schema):
    first = fields.Date(required=True, data_key="from")
    last = fields.Date(required=True, data_key="to")


class AssessmentSchema(Schema):
    by = fields.String(required=True)
    period = fields.Nested(PeriodSchema, required=True)
    items = fields.List(fields.Nested(AssessmentItemSchema), required=True)
    total = fields.Nested(AssessmentItemSchema, required=True)
    previous = fields.Dict(keys=fields.String(), values=fields.Nested(AssessmentItemSchema), metadata={
        "description": "With compare: the previous period's item of each key (`_total` for the total)."})
    previous_period = fields.Nested(PeriodSchema, allow_none=True)
    definitions = fields.Dict(required=True, metadata={
        "description": "The definitions used: counts, rates, composites, scores, grade bands, lateness attribution "
                       "and the assessment file's version."})
    process = fields.String(allow_none=True, metadata={"description": "The deployed process version, e.g. grid_case v3."})
    made_at = fields.DateTime(required=True)


class CasesBehindSchema(PageSchema):
    items = fields.List(fields.Nested(Schema.from_dict({"code": fields.String(required=True)}, name="CaseCode")),
                        required=True)
    fact = fields.String(required=True, metadata={"description": "The fact the figure counts."})
