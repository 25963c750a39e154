"""One-time set-password links: the administrator makes one on the user's page (the link shown
once, to hand on); the user opens it, signed out, and chooses their own password. An imported
user signs in with their initial code and chooses theirs here too."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.admin import passwords
from engine.errors import Conflict, InputError

from web.auth import choose_password_page, login_required
from web.db import get_session, runtime
from web.pages import bp
from web.pages.admin import admin_roles
from web.security import secret_page


@bp.post("/admin/users/<username>/password-link")
@login_required(admin_roles)
def admin_user_password_link(username: str):
    session = get_session()
    try:
        secret, expires = passwords.issue_password_link(session, runtime(), g.user, username)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("pages.admin_user", username=username))
    return secret_page(render_template("admin/password.html", username=username, created=False, expires=expires,
                                       link=url_for("pages.set_password", secret=secret, _external=True)))


@bp.route("/set-password/<secret>", methods=["GET", "POST"])
def set_password(secret: str):
    session, rt = get_session(), runtime()
    errors = {}
    if request.method == "POST":
        try:
            passwords.set_password_with_link(session, rt, secret, request.form.get("password", ""),
                                                    request.form.get("repeated", ""))
            session.commit()
            flash(_("Your password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
        except InputError as exc:
            session.rollback()
            errors = exc.errors
    return choose_password_page(passwords.link_holder(session, rt, secret), errors)


@bp.post("/set-password")
def set_password_with_code():
    """Choose a password with an imported user's initial code (the sign-in page led here)."""
    session, rt = get_session(), runtime()
    username, code = request.form.get("username", "")[:64], request.form.get("code", "")[:256]
    try:
        passwords.set_password_with_code(session, rt, username, code, request.form.get("password", ""),
                                         request.form.get("repeated", ""))
        session.commit()
    except InputError as exc:
        session.rollback()
        return choose_password_page(passwords.initial_code_holder(session, rt, username, code), exc.errors,
                                    username=username, code=code)
    flash(_("Your password is set. Sign in with it."), "success")
    return redirect(url_for("auth.login"))
