"""/api/v1 two-way assessment: departments' ratings by their communities, and rating rounds."""
from __future__ import annotations

from flask import g

from engine.assessment import rounds as round_service
from engine.assessment import trail, twoway

from web.api.core import bp, operation
from web.api.schemas.two_way import (CaseRatingListSchema, PeriodArgs, RatingsArgs, ResultsSchema, RoundCreateSchema,
                                     RoundListSchema, RoundSchema, ScoreSchema, ScoresSchema, SheetListSchema,
                                     TrailSchema, TwoWayListSchema)
from web.db import get_session, runtime


@bp.get("/assessment/two-way")
@operation("Departments' two-way figures for a period", tag="assessment", query=PeriodArgs,
           response=TwoWayListSchema, description="Per department: how its communities rated the closings it "
           "handled (满意/基本满意/不满意) and its round scores, from the communities and departments in your scope.")
def two_way_figures(args):
    return {"items": twoway.two_way_figures(get_session(), runtime(), g.user, args["from_"], args["to"])}


@bp.get("/assessment/two-way/ratings")
@operation("The community ratings behind one department's figure", tag="assessment", query=RatingsArgs,
           response=CaseRatingListSchema)
def two_way_ratings(args):
    return {"items": twoway.department_ratings(get_session(), runtime(), g.user, args["department"],
                                               args["from_"], args["to"])}


@bp.get("/assessment/rounds")
@operation("Rating rounds", tag="assessment", response=RoundListSchema,
           description="The rounds you score in or may read, newest first.")
def list_rounds():
    return {"items": round_service.rounds_for(get_session(), runtime(), g.user)}


@bp.post("/assessment/rounds")
@operation("Open a rating round", tag="assessment", body=RoundCreateSchema, response=RoundSchema, status=201,
           errors=(403,), description="Over a district or street, for a period; its items are assessment.toml's "
           "[rounds] items as they are now.")
def open_round(body):
    session = get_session()
    summary = round_service.open_round(session, runtime(), g.user, name=body["name"],
                                       period_start=body["period_start"], period_end=body["period_end"],
                                       unit_code=body["unit"])
    session.commit()
    return summary


@bp.post("/assessment/rounds/<int:round_id>/close")
@operation("Close a rating round", tag="assessment", response=RoundSchema, errors=(403, 404, 409))
def close_round(round_id: int):
    session = get_session()
    summary = round_service.close_round(session, runtime(), g.user, round_id)
    session.commit()
    return summary


@bp.get("/assessment/rounds/<int:round_id>/sheets")
@operation("Your score sheets in a round", tag="assessment", response=SheetListSchema, errors=(404,),
           description="For each community you score for: the departments that handled its cases closed in the "
           "round's period, with the points given so far.")
def round_sheets(round_id: int):
    return round_service.score_sheets(get_session(), runtime(), g.user, round_id)


@bp.put("/assessment/rounds/<int:round_id>/scores")
@operation("Score a department in a round", tag="assessment", body=ScoresSchema, response=ScoreSchema,
           errors=(404, 409), description="Every item of the round, each from 0 to its max; scoring again "
           "replaces the community's earlier sheet for that department.")
def submit_scores(round_id: int, body):
    session = get_session()
    row = round_service.submit_scores(session, runtime(), g.user, round_id, community_code=body["community"],
                                      department_code=body["department"], scores=body["scores"],
                                      comment=body["comment"])
    session.commit()
    return row


@bp.get("/assessment/rounds/<int:round_id>/results")
@operation("A round's results", tag="assessment", response=ResultsSchema, errors=(404,),
           description="Each department's mean scores from the communities in your scope (a department's "
           "members: their own department), best first.")
def round_results(round_id: int):
    return round_service.round_results(get_session(), runtime(), g.user, round_id)


@bp.get("/assessment/trail")
@operation("How far the case events' hash chains were last found intact", tag="assessment", response=TrailSchema,
           description="From the stored results of `gridflow audit verify`: the figures rest on events up to "
           "`up_to_event_id`, checked at `verified_at`; `broken_at` and `problem` say a later check found a break.")
def audit_trail():
    return trail.trail_status(get_session())
