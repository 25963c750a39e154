"""The pages people work in all day: inbox, task, intake, case, case search, supervision board,
notifications. Server-rendered; htmx refreshes the inbox and the board in place.

One blueprint, "pages"; each page family is a module here that adds its routes to it. Every view
finds records through the engine's visibility rules (a case or task outside the user's scope is a
404, whatever the URL), commits once, and on bad input re-renders the form with the errors beside
their fields and the user's input kept.
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from engine.errors import Forbidden, InputError, NotFound
from engine.lifecycle import attachments as attachment_service
from engine.lifecycle.cases import reporter_roles as case_roles
from engine.process.two_way import load_two_way
from engine.queries import choices

from web.api import core as api
from web.auth import safe_next
from web.db import runtime
from web.wording import translated

bp = Blueprint("pages", __name__)
PAGE_SIZE = 50
MAX_PHOTOS = 10  # photos stored from one form; the request size limit allows this many


@bp.app_context_processor
def _nav_roles():
    """The top bar shows a page to the roles policy.toml lets in: who may report (any channel),
    see the board, work in the studio, administer, see the map."""
    def nav_roles(page: str) -> tuple[str, ...]:
        policy = runtime().policy
        return {"report": lambda: case_roles(policy), "board": lambda: policy.board_roles,
                "studio": lambda: policy.studio_roles, "administer": lambda: policy.admin_roles,
                "map": lambda: policy.map_roles, "rounds": lambda: _rounds_roles()}[page]()
    return {"nav_roles": nav_roles}


def _rounds_roles() -> tuple[str, ...]:
    """Who the rating rounds are for (assessment.toml): who opens, who scores, who reads the results."""
    two_way = load_two_way(runtime().settings["PROCESSES_DIR"])
    return tuple(dict.fromkeys(two_way.open_roles + two_way.score_roles + two_way.viewers))


@bp.errorhandler(NotFound)
def _not_found(exc):
    return render_template("error.html", status=404, title=_("Not found"),
                           message=_("There is nothing here, or it is outside your area.")), 404


@bp.errorhandler(Forbidden)
def _forbidden(exc):
    return render_template("error.html", status=403, title=_("Not allowed"), message=exc.message), 403


@bp.app_errorhandler(413)
def _too_large(exc):
    if _machine_client():
        return api.http_error(exc)
    limit = int(current_app.config.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)) / 1048576
    return render_template("error.html", status=413, title=_("Too much to upload"),
                           message=_("The files sent together were too large. Send at most 10 photos of "
                                     "%(mb)d MB each.", mb=limit)), 413


def _machine_client() -> bool:
    return request.path.startswith(("/api/", "/open311/"))


@bp.app_errorhandler(403)
def _http_forbidden(exc):
    if _machine_client():
        return api.http_error(exc)
    return render_template("error.html", status=403, title=_("Not allowed"),
                           message=_("Your role does not include this page.")), 403


@bp.app_errorhandler(404)
def _http_not_found(exc):
    if _machine_client():
        return api.http_error(exc)
    return render_template("error.html", status=404, title=_("Not found"),
                           message=_("There is nothing here, or it is outside your area.")), 404


# -- helpers the page modules share ---------------------------------------------------------------
def now():
    return runtime().clock()


def int_arg(name: str, default: int = 0, maximum: int = 10 ** 9) -> int:
    try:
        return min(max(int(request.args.get(name, default)), 0), maximum)
    except ValueError:
        return default


def form_int(name: str) -> int | None:
    raw = request.form.get(name)
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None


def back(default: str) -> str:
    """Where a form's ``next`` field says to return, when it is a page of this site."""
    return safe_next(request.form.get("next"), default)


def error_text(exc: InputError, *fields: str) -> str:
    """The messages of ``fields`` (all of them when none are named), for a flash message."""
    return "; ".join(translated(m) for name, msgs in exc.errors.items() if not fields or name in fields
                     for m in msgs)


def filtered(parse, empty, run):
    """Read a list's filter from the query string and run it. A filter that breaks a rule (or
    names an unknown area) shows its errors above an unfiltered list rather than failing."""
    errors = {}
    try:
        f = parse(request.args)
    except InputError as exc:
        errors, f = exc.errors, empty
    try:
        return f, run(f), errors
    except InputError as exc:
        return empty, run(empty), exc.errors


def filter_options(session) -> choices.FilterOptions:
    """Choices of a list's filter form for the signed-in user (the full lists cached per app)."""
    return choices.filter_options(session, g.user, current_app.extensions.setdefault("gridflow.page_cache", {}))


def uploaded_photos() -> list[FileStorage]:
    return [f for f in request.files.getlist("photos") if f and f.filename]


def photo_digests(files: list[FileStorage]) -> list[str]:
    """The SHA-256 of each photo (as far as store_photos reads it), leaving each file to be read again."""
    limit = int(runtime().settings.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    digests = []
    for upload in files[:MAX_PHOTOS]:
        digests.append(hashlib.sha256(upload.stream.read(limit + 1)).hexdigest())
        upload.stream.seek(0)
    return digests


def store_photos(session, rt, case, files: list[FileStorage], task_row=None):
    """Store the photos of a form on ``case``; InputError (field "photo") names a bad one."""
    limit = int(rt.settings.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    return [attachment_service.add_attachment(session, rt, g.user, case, upload.filename, upload.read(limit + 1),
                                              task=task_row)
            for upload in files[:MAX_PHOTOS]]


# The page families add their routes to bp.
from web.pages import (admin, assessment, board, cases, inbox, intake, map, notifications, offline, rounds,  # noqa: E402,F401
                       simulation, studio, tasks)
