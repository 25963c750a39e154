"""Signing in and out of the pages: scrypt passwords, a session cookie that expires when idle
and after a maximum age, a CSRF token on every form, and role checks for each view."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _

from engine.access.accounts import set_locale, sign_in
from engine.access.sessions import end_all_sessions, end_session, open_session, session_user
from engine.admin.passwords import initial_code_holder
from engine.public.ratelimit import hit, parse_limit

from web.db import get_session, runtime
from web.ratelimit import client_address
from web.security import secret_page

bp = Blueprint("auth", __name__)
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Blueprints whose forms are protected by the session's CSRF token (the API uses bearer tokens).
CSRF_BLUEPRINTS = {"auth", "pages"}



def csrf_token() -> str:
    """The session's CSRF token, created on first use; every page form sends it back."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


@bp.before_app_request
def load_user():
    """Put the signed-in user in ``g.user`` (None when signed out or the session expired)."""
    g.user = None
    if request.endpoint == "static" or (request.blueprint not in CSRF_BLUEPRINTS and request.blueprint is not None):
        return None
    uid = session.get("uid")
    if uid is None:
        return None
    now = runtime().clock()
    idle = timedelta(minutes=float(current_app.config.get("SESSION_IDLE_MINUTES", 60)))
    max_age = timedelta(hours=float(current_app.config.get("SESSION_MAX_HOURS", 12)))
    try:
        seen = datetime.fromisoformat(session.get("seen", ""))
        signed_in = datetime.fromisoformat(session.get("auth_at", ""))
    except (TypeError, ValueError):
        seen = signed_in = None
    if seen is None or now - seen > idle or now - signed_in > max_age:
        session.clear()
        g.session_expired = True
        return None
    user = session_user(get_session(), session.get("sid"))
    if user is None or user.id != uid or session.get("epoch", 0) != user.session_epoch:
        session.clear()  # signed out (here or everywhere), or deactivated
        g.session_expired = True
        return None
    g.user = user
    if now - seen > timedelta(seconds=30):  # keep the cookie from changing on every poll
        session["seen"] = now.isoformat()
    return None


@bp.before_app_request
def check_csrf():
    if request.method not in UNSAFE_METHODS or request.blueprint not in CSRF_BLUEPRINTS:
        return None
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRFToken") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        if wants_json():  # the report page's queue: it fetches a fresh token and sends again
            return jsonify({"error": "csrf", "message": _("The form has expired")}), 400
        body = render_template("error.html", status=400, title=_("The form has expired"),
                               message=_("This form was open too long or did not come from gridflow. "
                                         "Go back, reload the page and send it again."))
        return body, 400
    return None


def wants_json() -> bool:
    """Whether the request is a page's script asking for JSON (Accept: application/json) rather
    than a browser asking for a page."""
    return request.accept_mimetypes.best_match(("text/html", "application/json")) == "application/json" \
        and "text/html" not in request.accept_mimetypes


def _roles() -> set[str]:
    return {m.role for m in g.user.memberships} if g.user else set()


def login_required(*roles: str):
    """Only signed-in users (holding one of ``roles``, when given) reach the view. A single
    callable instead gives the roles at request time (from the processes' policy)."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if g.user is None:
                if wants_json():  # a script of the page (the report queue): it says so and waits
                    return jsonify({"error": "signed_out",
                                    "message": _("Your session expired; please sign in again.")}), 401
                if request.headers.get("HX-Request"):
                    response = current_app.response_class(status=401)
                    response.headers["HX-Redirect"] = url_for("auth.login", next=_next_target())
                    return response
                if g.get("session_expired"):
                    flash(_("Your session expired; please sign in again."), "info")
                return redirect(url_for("auth.login", next=_next_target()))
            wanted = roles[0]() if len(roles) == 1 and callable(roles[0]) else roles
            if wanted and not (_roles() & set(wanted)):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _next_target() -> str:
    return request.full_path.rstrip("?") if request.method == "GET" else request.path


def safe_next(target: str | None, default: str | None = None) -> str:
    """``target`` when it is a path on this site, else ``default`` (the start page)."""
    parts = urlsplit(target or "")
    if (not target or parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target):
        return default or url_for("pages.start")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:64]
        password = request.form.get("password", "")
        retry_after = _login_throttled(username)
        if retry_after:
            error = _("Too many sign-in attempts. Wait %(minutes)d minute(s) and try again.",
                      minutes=max(1, (retry_after + 59) // 60))
            response = current_app.make_response((render_template(
                "login.html", error=error, username=username, next=request.values.get("next", "")), 429))
            response.headers["Retry-After"] = str(retry_after)
            return response
        db = get_session()
        user = sign_in(db, username, password[:256])
        if user is not None:
            moment = runtime().clock()
            max_age = timedelta(hours=float(current_app.config.get("SESSION_MAX_HOURS", 12)))
            sid = open_session(db, user, now=moment, max_age=max_age)
            db.commit()  # the session, and a rehashed password
            lang = session.get("lang")
            session.clear()
            now = moment.isoformat()
            session.update(uid=user.id, sid=sid, epoch=user.session_epoch, auth_at=now, seen=now,
                           csrf=secrets.token_urlsafe(32))
            if lang:
                session["lang"] = lang
            session.permanent = True
            return redirect(safe_next(request.form.get("next") or request.args.get("next")))
        holder = initial_code_holder(db, runtime(), username, password[:256])
        if holder is not None:  # an imported user's initial code: it only lets them choose a password
            return choose_password_page(holder, {}, username=username, code=password[:256])
        error = _("Wrong username or password.")
    return render_template("login.html", error=error, username=username,
                           next=request.values.get("next", "")), (401 if error else 200)


def choose_password_page(user, errors: dict, **code_fields):
    """The page where ``user`` chooses their password: through a link (its URL), or with their initial
    code (``username`` and ``code``, carried in the form, never in a URL); kept out of every cache."""
    return secret_page(render_template(
        "admin/set_password.html", user=user, errors=errors, code_fields=code_fields,
        action=url_for("pages.set_password_with_code") if code_fields else "",
        minimum=int(runtime().settings.get("PASSWORD_MIN_LENGTH", 10))), 422 if errors else 200)


def _login_throttled(username: str) -> int:
    """Count a sign-in attempt per account and per address; seconds to wait when over either limit."""
    now = runtime().clock()
    sessions = current_app.extensions["gridflow.sessions"]
    wait = 0
    for setting, key in (("RATE_LIMIT_LOGIN_ACCOUNT", f"login-account:{username.lower()}"),
                         ("RATE_LIMIT_LOGIN_ADDRESS", f"login-address:{client_address()}")):
        limit = parse_limit(current_app.config.get(setting))
        if limit is not None:
            verdict = hit(sessions, limit, key, now)
            if not verdict.allowed:
                wait = max(wait, verdict.retry_after)
    return wait


@bp.post("/logout")
def logout():
    """Sign out here: this session ends (saved copies of its cookie too); the user's others go on."""
    if g.user is not None:
        end_session(get_session(), session.get("sid"))
        get_session().commit()
    return _signed_out(_("You have signed out."))


@bp.post("/logout/everywhere")
def logout_everywhere():
    """Sign out on every device: all the user's page sessions end."""
    if g.user is not None:
        end_all_sessions(get_session(), g.user)
        get_session().commit()
    return _signed_out(_("You have signed out on every device."))


def _signed_out(message: str):
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(message, "info")
    return redirect(url_for("auth.login"))


@bp.post("/lang")
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config.get("LANGUAGES", ["zh", "en"]):
        session["lang"] = lang  # the language of the sign-in page, and before the profile is read
        if g.get("user") is not None:
            set_locale(get_session(), g.user, lang)
            get_session().commit()
    return redirect(safe_next(request.form.get("next")))
