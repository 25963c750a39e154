"""Rating rounds (two-way assessment): open a round, score the departments as a community, read
the results within one's scope."""
from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.assessment import rounds as round_service
from engine.errors import Conflict, InputError

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        return None


@bp.get("/assessment/rounds")
@login_required()
def rounds():
    return render_template("rounds/list.html", page=round_service.rounds_page(get_session(), runtime(), g.user),
                           errors={}, form={})


@bp.post("/assessment/rounds")
@login_required()
def open_round():
    session = get_session()
    try:
        summary = round_service.open_round(session, runtime(), g.user, name=request.form.get("name", ""),
                                           period_start=_date("period_start"), period_end=_date("period_end"),
                                           unit_code=request.form.get("unit", ""))
    except InputError as exc:
        session.rollback()
        page = round_service.rounds_page(session, runtime(), g.user)
        return render_template("rounds/list.html", page=page, errors=exc.errors, form=request.form), 422
    session.commit()
    flash(_("Round %(name)s is open.", name=summary.name), "info")
    return redirect(url_for("pages.rating_round", round_id=summary.id))


@bp.get("/assessment/rounds/<int:round_id>")
@login_required()
def rating_round(round_id: int):
    page = round_service.round_page(get_session(), runtime(), g.user, round_id)
    return render_template("rounds/round.html", page=page, errors={}, failed=None, form={})


@bp.post("/assessment/rounds/<int:round_id>/scores")
@login_required()
def score_round(round_id: int):
    session = get_session()
    rt = runtime()
    department = request.form.get("department", "")
    scores = {}
    for key, raw in request.form.items():
        if key.startswith("score."):
            try:
                scores[key[6:]] = float(raw) if raw.strip() else None
            except ValueError:
                scores[key[6:]] = raw
    try:
        round_service.submit_scores(session, rt, g.user, round_id, community_code=request.form.get("community", ""),
                                    department_code=department, scores=scores,
                                    comment=request.form.get("comment", ""))
    except (InputError, Conflict) as exc:
        session.rollback()
        page = round_service.round_page(session, rt, g.user, round_id)
        errors = exc.errors if isinstance(exc, InputError) else {"_": [exc.message]}
        return render_template("rounds/round.html", page=page, errors=errors,
                               failed=(request.form.get("community"), department), form=request.form), 422
    session.commit()
    flash(_("Scores for %(department)s saved.", department=department), "info")
    return redirect(url_for("pages.rating_round", round_id=round_id))


@bp.post("/assessment/rounds/<int:round_id>/close")
@login_required()
def close_round(round_id: int):
    session = get_session()
    try:
        summary = round_service.close_round(session, runtime(), g.user, round_id)
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("pages.rating_round", round_id=round_id))
    session.commit()
    flash(_("Round %(name)s is closed.", name=summary.name), "info")
    return redirect(url_for("pages.rating_round", round_id=round_id))
