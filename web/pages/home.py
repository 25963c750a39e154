"""The landing page and the probes: /healthz (the process answers) and /readyz (it can serve)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, session, url_for

from engine.queries.status import deployed_process, readiness

from web.db import get_session, runtime

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if session.get("uid") is not None:
        return redirect(url_for("pages.start"))
    return render_template("home.html", process=deployed_process(get_session(), current_app.config["CASE_PROCESS"]))


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers; no database query."""
    return jsonify({"status": "ok", "calendar_warning": runtime().calendar_warning()})


@bp.get("/readyz")
def readyz():
    """Readiness: 200 when the database answers at the code's schema revision with a process deployed, else 503."""
    state = readiness(get_session(), current_app.config["CASE_PROCESS"])
    return jsonify({"status": "ready" if state.ready else "not ready", "database": state.database,
                    "schema": state.schema, "expected_schema": state.expected_schema,
                    "process": state.process}), 200 if state.ready else 503


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico whatever the page says; answer with the SVG icon.
    return redirect(url_for("static", filename="favicon.svg"), code=301)
