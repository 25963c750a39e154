"""The administration pages for users and the change log: list and search users, create one
(their initial code shown once), change names, languages and roles, deactivate and reactivate,
reset a password; the history of every change in the administrator's scope, filtered.

Org units, departments, categories and the city import are in admin_city.py.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as l_

from engine.admin import changes, users
from engine.admin.users import MembershipSpec
from engine.errors import Conflict, InputError

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp, int_arg
from web.present import ROLES
from web.security import secret_page

EMPTY_MEMBERSHIP_ROWS = 3
MAX_MEMBERSHIP_ROWS = 50


def admin_roles() -> tuple[str, ...]:
    return runtime().policy.admin_roles


@bp.get("/admin")
@login_required(admin_roles)
def admin_home():
    return redirect(url_for("pages.admin_users"))


@bp.get("/admin/users")
@login_required(admin_roles)
def admin_users():
    q = request.args.get("q", "").strip()[:64]
    views = users.list_users(get_session(), runtime(), g.user, q=q)
    return render_template("admin/users.html", views=views, q=q)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@login_required(admin_roles)
def admin_user_new():
    session, rt = get_session(), runtime()
    values = {k: request.form.get(k, "").strip() for k in ("username", "name", "locale")}
    specs = _memberships_from_form()
    errors = {}
    if request.method == "POST":
        try:
            user, issued = users.create_user(session, rt, g.user, values["username"], values["name"],
                                             values["locale"] or "zh", specs)
            session.commit()
            return secret_page(render_template("admin/password.html", username=user.username, code=issued.code,
                                               expires=issued.expires_at, created=True))
        except InputError as exc:
            session.rollback()
            errors = exc.errors
    form = users.user_form(session, rt, g.user)
    return render_template("admin/user.html", form=form, values=values, memberships=_rows(specs), errors=errors,
                           creating=True), (422 if errors else 200)


@bp.route("/admin/users/<username>", methods=["GET", "POST"])
@login_required(admin_roles)
def admin_user(username: str):
    session, rt = get_session(), runtime()
    errors = {}
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in ("name", "locale")}
        specs = _memberships_from_form()
        try:
            users.update_user(session, rt, g.user, username, name=values["name"], locale=values["locale"],
                              memberships=specs)
            session.commit()
            flash(_("Saved %(name)s.", name=username), "success")
            return redirect(url_for("pages.admin_user", username=username))
        except InputError as exc:
            session.rollback()
            errors = exc.errors
    form = users.user_form(session, rt, g.user, username)
    if not errors:
        values = {"name": form.view.user.name, "locale": form.view.user.locale}
        specs = form.view.memberships
    return render_template("admin/user.html", form=form, values=values, memberships=_rows(specs), errors=errors,
                           creating=False), (422 if errors else 200)


@bp.post("/admin/users/<username>/active")
@login_required(admin_roles)
def admin_user_active(username: str):
    session = get_session()
    active = request.form.get("active") == "1"
    try:
        view = users.set_user_active(session, runtime(), g.user, username, active)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("pages.admin_user", username=username))
    if active:
        flash(_("%(name)s is active again and can sign in.", name=username), "success")
    else:
        flash(_("%(name)s is deactivated: they can no longer sign in or use their tokens; the tasks they "
                "held went back to their teams.", name=username), "success")
    return redirect(url_for("pages.admin_user", username=view.user.username))


@bp.post("/admin/users/<username>/password")
@login_required(admin_roles)
def admin_user_password(username: str):
    session = get_session()
    try:
        issued = users.reset_password(session, runtime(), g.user, username)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("pages.admin_user", username=username))
    return secret_page(render_template("admin/password.html", username=username, code=issued.code,
                                       expires=issued.expires_at, created=False))


@bp.get("/admin/history")
@login_required(admin_roles)
def admin_history():
    errors: dict[str, list[str]] = {}
    args = {k: request.args.get(k, "").strip()[:64] for k in ("kind", "code", "actor", "since", "until")}
    dates = {}
    for key in ("since", "until"):
        if args[key]:
            try:
                day = datetime.strptime(args[key], "%Y-%m-%d").date()
                moment = datetime.combine(day, time(0), tzinfo=runtime().calendar.tz)
                dates[key] = moment + timedelta(days=1) if key == "until" else moment
            except ValueError:
                errors[key] = [_("Give a date as YYYY-MM-DD.")]
    f = changes.HistoryFilter(kind=args["kind"] or None, code=args["code"] or None, actor=args["actor"] or None,
                              since=dates.get("since"), until=dates.get("until"), limit=100,
                              offset=int_arg("offset"))
    try:
        page = changes.history(get_session(), runtime(), g.user, f)
    except InputError as exc:
        errors.update(exc.errors)
        page = changes.history(get_session(), runtime(), g.user, changes.HistoryFilter(offset=int_arg("offset")))
    return render_template("admin/history.html", page=page, args=args, errors=errors, kinds=changes.TARGET_KINDS)


CHANGE_KINDS = {"user": l_("user"), "org_unit": l_("org unit"), "department": l_("department"),
                "category": l_("category"), "city": l_("city import")}
CHANGE_ACTIONS = {"create": l_("created"), "update": l_("changed"), "deactivate": l_("deactivated"),
                  "reactivate": l_("reactivated"), "reset_password": l_("password reset"), "import": l_("imported"),
                  "password_link": l_("set-password link made"), "set_password": l_("password set by the user")}


# The logged fields by name; a field not listed is shown as its name.
CHANGE_FIELDS = {"name": l_("Name"), "name_en": l_("English name"), "locale": l_("Language"), "active": l_("active"),
                 "memberships": l_("Roles"), "area_type": l_("Area type"), "level": l_("Level"),
                 "emergency": l_("Emergency"), "default_department": l_("Default department"),
                 "password": l_("Reset password"), "released_tasks": l_("Tasks given back"),
                 "changes": l_("Change"), "files": l_("Files"), "password_link_expires": l_("Link valid until")}


@bp.context_processor
def _admin_words():
    return {"CHANGE_KINDS": CHANGE_KINDS, "CHANGE_ACTIONS": CHANGE_ACTIONS, "CHANGE_FIELDS": CHANGE_FIELDS}


@bp.app_template_filter("change_value")
def change_value(value) -> str:
    """A logged value in words: memberships as "role · scope", lists one per line, flags as yes/no."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "\n".join(" · ".join(_scope_words(v) for v in item) if isinstance(item, list) else str(item)
                         for item in value)
    return "" if value is None else str(value)


def _scope_words(value) -> str:
    """A role by its name, an org path by its unit's code (the last in the path), a department as is."""
    text = str(value)
    if text in ROLES:
        return str(ROLES[text])
    return text.rstrip("/").rsplit("/", 1)[-1] if text.endswith("/") else text


def _memberships_from_form() -> list[MembershipSpec]:
    """The membership rows of the user form (role-N, org_unit-N, department-N); blank rows are skipped."""
    specs = []
    for i in range(MAX_MEMBERSHIP_ROWS):
        role = request.form.get(f"role-{i}", "").strip()
        unit = request.form.get(f"org_unit-{i}", "").strip()
        department = request.form.get(f"department-{i}", "").strip()
        if role or unit or department:
            specs.append(MembershipSpec(role, unit, department))
    return specs


def _rows(specs) -> list[MembershipSpec]:
    return list(specs) + [MembershipSpec("")] * EMPTY_MEMBERSHIP_ROWS


# The org units, departments, categories and city import pages.
from web.pages import admin_city, admin_password  # noqa: E402,F401
