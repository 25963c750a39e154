"""The landing page and the health check."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, session, url_for

from engine.queries.status import system_status

from web.db import get_session, runtime

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if session.get("uid") is not None:
        return redirect(url_for("pages.start"))
    return render_template("home.html", status=system_status(get_session(), current_app.config["CASE_PROCESS"]))


@bp.get("/healthz")
def healthz():
    status = system_status(get_session(), current_app.config["CASE_PROCESS"])
    warning = runtime().calendar_warning()
    return jsonify({"status": "ok", "process": status.process, "cases": status.cases_by_status,
                    "calendar_warning": warning})


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico whatever the page says; answer with the SVG icon.
    return redirect(url_for("static", filename="favicon.svg"), code=301)
