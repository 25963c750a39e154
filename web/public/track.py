"""Public case tracking at /track/<code> (page and .json) and the reporter's secret page
/track/<code>/<secret>, where they add information the clerk asked for and rate the result.

The secret in the URL is the authorization (no session cookie), so these forms need no CSRF
token: a forged request would have to know the secret already. Without the secret a case is
shown only as far as the PUBLIC_* settings allow (engine/public/exposure.py).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.public import tracking
from engine.errors import EngineError, InputError
from engine.public.exposure import exposure
from engine.public.texts import public_text

from web.api.core import problem
from web.pages import MAX_PHOTOS
from web.present import label
from web.db import get_session, runtime
from web.errors import http_status

from web.public.i18n import SATISFACTION_LABELS, current_lang
from web.ratelimit import rate_limited

bp = Blueprint("track", __name__, url_prefix="/track")
# A mistyped PUBLIC_* setting stops the app at start-up rather than on a resident's request.
bp.record_once(lambda state: exposure(state.app.config))

def _wants_json() -> bool:
    return request.path.endswith(".json") or request.is_json or \
        request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"



def _too_many(seconds: int):
    if _wants_json():
        return problem(429, "too_many_requests", f"Too many requests from this address; retry after {seconds} s.")
    return render_template("track/message.html", title=_("Too many requests"),
                           message=_("Please wait %(seconds)s seconds and try again.", seconds=seconds)), 429


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError):
    status = http_status(exc)
    if _wants_json():
        return problem(status, exc.code, exc.message, getattr(exc, "errors", None))
    if status == 404:
        return render_template("track/message.html", title=_("Not found"), message=_("No case has this code.")), 404
    return render_template("track/message.html", title=_("Could not send"), message=exc.message), status


def _labels(view) -> dict:
    """The public view in the visitor's language, as the JSON and the page show it."""
    lang, text = current_lang(), public_text(runtime().settings)
    tz = runtime().calendar.tz
    iso = lambda dt: dt.astimezone(tz).isoformat(timespec="seconds") if dt else None
    return {
        "code": view.code,
        "status": view.status,
        "stage": view.stage,
        "stage_label": text.stage(view.stage, lang),
        "category": {"code": view.category_code, "name": view.category[lang], "group": view.major[lang]},
        "address": view.address,
        "agency": view.agency[lang],
        "reported_at": iso(view.reported_at),
        "updated_at": iso(view.updated_at),
        "closed_at": iso(view.closed_at),
        "expected_completion": iso(view.expected_at),
        "description": view.description,
        "timeline": [{"at": iso(e.at), "event": e.kind, "stage": e.stage, "stage_label": text.stage(e.stage, lang)}
                     for e in view.timeline],
    }


@bp.get("/<code>.json")
@rate_limited("TRACKING", _too_many)
def case_json(code: str):
    data = _labels(tracking.public_case(get_session(), runtime(), code))
    if data["description"] is None:
        del data["description"]
    return jsonify(data)


@bp.get("/<code>")
@rate_limited("TRACKING", _too_many)
def case_page(code: str):
    view = _labels(tracking.public_case(get_session(), runtime(), code))
    return render_template("track/case.html", case=view, reporter=None)


@bp.get("/<code>/<secret>")
@rate_limited("TRACKING", _too_many)
def reporter_page(code: str, secret: str):
    mine = tracking.reporter_case(get_session(), runtime(), code, secret)
    return _reporter_response(mine, code, secret)


@bp.post("/<code>/<secret>/supplement")
@rate_limited("INTAKE", _too_many)
def supplement(code: str, secret: str):
    session, rt = get_session(), runtime()
    limit = int(rt.settings.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    photos = [(f.filename, f.read(limit + 1)) for f in request.files.getlist("photos") if f and f.filename]
    mine = tracking.add_supplement(session, rt, code, secret, _field("text"), photos[:MAX_PHOTOS])
    session.commit()
    return _after_post(mine, code, secret, tracking.SUPPLEMENT)


@bp.post("/<code>/<secret>/rating")
@rate_limited("INTAKE", _too_many)
def rating(code: str, secret: str):
    session = get_session()
    mine = tracking.rate(session, runtime(), code, secret, _field("satisfaction"), _field("comment") or "")
    session.commit()
    return _after_post(mine, code, secret, tracking.RATING)


def _field(name: str):
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InputError({"_body": ["Must be a JSON object."]})
        return body.get(name)
    return request.form.get(name)


def _after_post(mine, code: str, secret: str, done: str):
    if _wants_json():
        return _reporter_response(mine, code, secret)
    return redirect(url_for("track.reporter_page", code=code, secret=secret, done=done,
                            lang=request.args.get("lang")), code=303)


def _reporter_response(mine, code: str, secret: str):
    view = _labels(mine.public)
    reporter = {"supplement_request": mine.supplement_request, "can_supplement": mine.can_supplement,
                "can_rate": mine.can_rate,
                "rating": {"satisfaction": mine.rating.satisfaction, "comment": mine.rating.comment,
                           "at": mine.rating.created_at.isoformat()} if mine.rating else None,
                "facts": [{"name": f.variable, "label": label(f.label), "value": str(f.value)} for f in mine.facts]}
    if _wants_json():
        return jsonify({**view, **reporter})
    return render_template("track/case.html", case=view, reporter=reporter, secret=secret,
                           satisfaction=SATISFACTION_LABELS,
                           supplemented=request.args.get("done") == tracking.SUPPLEMENT,
                           rated=request.args.get("done") == tracking.RATING)
