"""The studio's impact simulation: run a draft against the cases of the last N days, show what it
would change (routing, decisions, deadlines, on-time closings, flow), every figure linked to its
cases; a JSON view of a run beside the page."""
from __future__ import annotations

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InputError
from engine.lifecycle import simulation as simulation_service
from engine.lifecycle import simulation_runs as run_service
from engine.process import drafts as draft_service

from web.db import get_session, runtime
from web.pages import bp, form_int, int_arg
from web.pages.studio import studio_roles
from web.wording import translated


def periods() -> list[int]:
    """The periods the draft page offers (config.toml SIMULATION_PERIODS), the default first."""
    return [int(d) for d in runtime().settings.get("SIMULATION_PERIODS", [30])] or [30]


@bp.post("/studio/drafts/<int:draft_id>/simulate")
@studio_roles
def studio_simulate_draft(draft_id: int):
    session, rt = get_session(), runtime()
    days = form_int("days") or periods()[0]
    view = draft_service.view(session, rt, draft_id)
    try:
        if days not in periods():
            raise InputError({"days": [_("Choose one of the periods offered.")]})
        result = simulation_service.simulate(session, rt, view.files, days, view.draft.key)
        session.rollback()  # the simulation wrote nothing; start the write of its findings clean
        run = run_service.store(session, rt, result, g.user.username, draft_id)
    except InputError as exc:
        session.rollback()
        flash(_("The draft cannot be simulated:") + " " + "; ".join(
            translated(m) for msgs in exc.errors.values() for m in msgs), "error")
        return redirect(url_for("pages.studio_draft", draft_id=draft_id))
    session.commit()
    return redirect(url_for("pages.studio_simulation", run_id=run.id))


@bp.get("/studio/simulations/<int:run_id>")
@studio_roles
def studio_simulation(run_id: int):
    session = get_session()
    run = run_service.get_run(session, run_id)
    return render_template("studio/simulation.html", run=run, s=run.summary, key=run.key,
                           departments=run_service.department_names(session))


@bp.get("/studio/simulations/<int:run_id>.json")
@studio_roles
def studio_simulation_json(run_id: int):
    return jsonify(run_service.run_json(run_service.get_run(get_session(), run_id)))


@bp.get("/studio/simulations/<int:run_id>/cases")
@studio_roles
def studio_simulation_cases(run_id: int):
    session = get_session()
    run = run_service.get_run(session, run_id)
    try:
        wanted = run_service.figure(request.args.to_dict())
    except InputError as exc:
        return jsonify(errors={k: [translated(m) for m in v] for k, v in exc.errors.items()}), 422
    offset, limit = int_arg("offset"), int_arg("limit", 100, 500) or 100
    total, cases = run_service.figure_cases(session, run_id, wanted, offset, limit)
    return render_template("studio/simulation_cases.html", run=run, s=run.summary, key=run.key, total=total,
                           cases=cases, offset=offset, limit=limit, args=request.args.to_dict(),
                           departments=run_service.department_names(session))
