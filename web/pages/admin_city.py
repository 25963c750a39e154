"""The administration pages for the city's reference data: org units (rename, area type,
deactivate), departments and categories (add, change, deactivate), and the city import from
uploaded files with its check report and dry-run diff before anything is written."""
from __future__ import annotations

import base64
import binascii

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.admin import org
from engine.admin.city import CityError, import_uploaded_city, pack_city_files
from engine.errors import InputError

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp
from web.pages.admin import admin_roles

DEPARTMENT_FIELDS = ("name", "name_en", "level")
CATEGORY_FIELDS = ("kind", "major_code", "major_name", "major_name_en", "minor_code", "name", "name_en",
                   "default_department")
MAX_UPLOAD_FILES = 12


def _active_choice():
    """The form's active switch: "1"/"0", or None when the form does not send one."""
    raw = request.form.get("active")
    return None if raw is None else raw == "1"


# -- org units -----------------------------------------------------------------------------------
@bp.get("/admin/units")
@login_required(admin_roles)
def admin_units():
    return render_template("admin/units.html", units=org.list_units(get_session(), runtime(), g.user))


@bp.post("/admin/units/<code>")
@login_required(admin_roles)
def admin_unit(code: str):
    values = {f: request.form.get(f) for f in ("name", "name_en", "area_type")}
    return _change(lambda s: org.update_unit(s, runtime(), g.user, code, active=_active_choice(), **values),
                   code, url_for("pages.admin_units") + f"#unit-{code}")


# -- departments -----------------------------------------------------------------------------------
@bp.get("/admin/departments")
@login_required(admin_roles)
def admin_departments():
    return render_template("admin/departments.html", page=org.list_departments(get_session(), runtime(), g.user),
                           values={}, errors={})


@bp.post("/admin/departments")
@login_required(admin_roles)
def admin_department_new():
    values = {f: request.form.get(f, "").strip() for f in DEPARTMENT_FIELDS}
    return _add(org.save_department, values, "pages.admin_departments", "admin/departments.html",
                org.list_departments, _("Added department %(code)s."))


@bp.post("/admin/departments/<code>")
@login_required(admin_roles)
def admin_department(code: str):
    values = {f: request.form[f].strip() for f in DEPARTMENT_FIELDS if f in request.form}
    if _active_choice() is not None:
        values["active"] = _active_choice()
    return _change(lambda s: org.save_department(s, runtime(), g.user, code, values, create=False),
                   code, url_for("pages.admin_departments") + f"#department-{code}")


# -- categories ------------------------------------------------------------------------------------
@bp.get("/admin/categories")
@login_required(admin_roles)
def admin_categories():
    return render_template("admin/categories.html", values={}, errors={},
                           page=org.category_page(get_session(), runtime(), g.user))


@bp.post("/admin/categories")
@login_required(admin_roles)
def admin_category_new():
    return _add(org.save_category, _category_values(), "pages.admin_categories", "admin/categories.html",
                org.category_page, _("Added category %(code)s."))


@bp.post("/admin/categories/<code>")
@login_required(admin_roles)
def admin_category(code: str):
    values = _category_values(partial=True)
    return _change(lambda s: org.save_category(s, runtime(), g.user, code, values, create=False),
                   code, url_for("pages.admin_categories") + f"#category-{code}")


def _category_values(partial: bool = False) -> dict:
    """The category form's values; an edit row sends only what it shows (its checkbox is off when absent)."""
    values = {f: request.form.get(f, "").strip() for f in CATEGORY_FIELDS if f in request.form or not partial}
    if not partial or "name" in request.form:
        values["emergency"] = request.form.get("emergency") == "on"
    if _active_choice() is not None:
        values["active"] = _active_choice()
    return values


def _add(save, values: dict, listing: str, template: str, page_of, done: str):
    """Add a department or category from the form under the list; on bad input show the list with
    the form's errors beside their fields and the input kept."""
    session = get_session()
    code = request.form.get("code", "").strip()
    try:
        save(session, runtime(), g.user, code, values, create=True)
        session.commit()
    except InputError as exc:
        session.rollback()
        return render_template(template, values={"code": code, **values}, errors=exc.errors,
                               page=page_of(session, runtime(), g.user)), 422
    flash(done % {"code": code}, "success")
    return redirect(url_for(listing))


def _change(save, code: str, back_to: str):
    """Save one row of a list; what was refused, and why, is flashed above the list."""
    session = get_session()
    try:
        save(session)
        session.commit()
        flash(_("Saved %(code)s.", code=code), "success")
    except InputError as exc:
        session.rollback()
        flash(_("%(code)s was not changed: %(errors)s", code=code, errors=_error_list(exc)), "error")
    return redirect(back_to)


# -- the city import ---------------------------------------------------------------------------------
@bp.route("/admin/import", methods=["GET", "POST"])
@login_required(admin_roles)
def admin_import():
    if request.method == "GET":
        return render_template("admin/import.html", result=None, problems=None, errors={}, applied=False)
    session, rt = get_session(), runtime()
    uploads = [(f.filename, f.read()) for f in request.files.getlist("files")[:MAX_UPLOAD_FILES] if f and f.filename]
    if not uploads and request.form.get("bundle"):
        # Applying the dry run just shown: the same files, sent back by the page (checked again).
        try:
            uploads = [("checked.zip", base64.b64decode(request.form["bundle"], validate=True))]
        except (binascii.Error, ValueError):
            uploads = [("checked.zip", b"")]
    apply = request.form.get("action") == "apply"
    bundle = ""
    try:
        result, files = import_uploaded_city(session, rt, g.user, uploads, dry_run=not apply)
        if apply:
            session.commit()
        else:
            session.rollback()
            bundle = base64.b64encode(pack_city_files(files)).decode()
    except InputError as exc:
        session.rollback()
        return render_template("admin/import.html", result=None, problems=None, errors=exc.errors,
                               applied=False), 422
    except CityError as exc:
        session.rollback()
        return render_template("admin/import.html", result=None, problems=exc.problems, errors={},
                               applied=False), 422
    return render_template("admin/import.html", result=result, problems=None, errors={}, applied=apply,
                           bundle=bundle)


def _error_list(exc: InputError) -> str:
    from web.wording import translated
    return "; ".join(f"{field}: {translated(m)}" for field, msgs in exc.errors.items() for m in msgs)
