"""/api/v1/admin: the administration pages' operations for cities that script their
administration — users and memberships, org units, departments, categories, the city import and
the change log. Every change is checked and recorded as on the pages; a street's administrator
reaches only their street."""
from __future__ import annotations

from flask import g, request, url_for

from engine.admin import changes, org, passwords, users
from engine.admin.city import CityError, import_uploaded_city, problem_fields
from engine.admin.users import MembershipSpec
from engine.errors import InputError

from web.api.core import bp, load, operation
from web.api.schemas.admin import (AdminCategoryListSchema, AdminDepartmentListSchema, AdminDepartmentSchema,
                                   AdminOrgUnitListSchema, AdminOrgUnitSchema, AdminUserListSchema, AdminUserSchema,
                                   CategoryCreateSchema, CategoryWriteSchema, ChangeArgs, ChangeListSchema,
                                   CityImportArgs, CityImportSchema, CityImportUploadSchema, DepartmentCreateSchema,
                                   DepartmentWriteSchema, OrgUnitUpdateSchema, InitialCodeSchema, PasswordLinkSchema, UserArgs,
                                   UserCreatedSchema, UserCreateSchema, UserUpdateSchema)
from web.api.schemas.reference import CategorySchema
from web.db import get_session, runtime
from web.errors import MalformedBody

TAG = "admin"
SCOPE = " A street's administrator reaches only the users and units of their street (others are 404)."
WIDE = " Only an administrator of the whole district (policy.toml administer.whole_city_at) may; others get 403."
MAX_UPLOAD_FILES = 12


def _specs(items) -> list[MembershipSpec]:
    return [MembershipSpec(m["role"], m.get("org_unit", ""), m.get("department", "")) for m in items]


# -- users ----------------------------------------------------------------------------------------
@bp.get("/admin/users")
@operation("Users you administer", tag=TAG, query=UserArgs, response=AdminUserListSchema, errors=(403,),
           description="By username, deactivated ones too." + SCOPE)
def admin_list_users(args):
    return {"items": users.list_users(get_session(), runtime(), g.user, q=args["q"])}


@bp.post("/admin/users")
@operation("Create a user", tag=TAG, body=UserCreateSchema, response=UserCreatedSchema, status=201, errors=(403,),
           description="The user has no password yet: `initial_code`, shown only here, lets them sign in once "
           "(until `initial_code_expires_at`, INITIAL_CODE_DAYS) and choose theirs. A duplicate username, an "
           "unknown unit or department, or a role the unit's level may not hold is 422 naming the field." + SCOPE)
def admin_create_user(body):
    session = get_session()
    user, issued = users.create_user(session, runtime(), g.user, body["username"], body["name"], body["locale"],
                                     _specs(body["memberships"]))
    session.commit()
    view = users.user_detail(session, runtime(), g.user, user.username)
    view.initial_code, view.initial_code_expires_at = issued.code, issued.expires_at
    return view, {"Location": url_for("api.admin_get_user", username=user.username)}


@bp.get("/admin/users/<username>")
@operation("One user you administer", tag=TAG, response=AdminUserSchema, errors=(403, 404), description=SCOPE.strip())
def admin_get_user(username: str):
    return users.user_detail(get_session(), runtime(), g.user, username)


@bp.patch("/admin/users/<username>")
@operation("Change a user's name, language or memberships", tag=TAG, body=UserUpdateSchema, response=AdminUserSchema,
           errors=(403, 404), description="`memberships` replaces all of them; fields left out stay." + SCOPE)
def admin_update_user(username: str, body):
    session = get_session()
    view = users.update_user(session, runtime(), g.user, username, name=body.get("name"), locale=body.get("locale"),
                             memberships=_specs(body["memberships"]) if "memberships" in body else None)
    session.commit()
    return view


@bp.post("/admin/users/<username>/deactivate")
@operation("Deactivate a user", tag=TAG, response=AdminUserSchema, errors=(403, 404, 409),
           description="They can no longer sign in or use their tokens, their page sessions end, and the open tasks "
           "they claimed go back to the pool (each with a timeline event). Your own account is 409." + SCOPE)
def admin_deactivate_user(username: str):
    session = get_session()
    view = users.set_user_active(session, runtime(), g.user, username, False)
    session.commit()
    return view


@bp.post("/admin/users/<username>/reactivate")
@operation("Reactivate a user", tag=TAG, response=AdminUserSchema, errors=(403, 404), description=SCOPE.strip())
def admin_reactivate_user(username: str):
    session = get_session()
    view = users.set_user_active(session, runtime(), g.user, username, True)
    session.commit()
    return view


@bp.post("/admin/users/<username>/password")
@operation("Reset a user's password", tag=TAG, response=InitialCodeSchema, errors=(403, 404, 409),
           description="Their password, earlier codes and set-password links stop working and their page sessions "
           "end; `initial_code`, shown only in this answer, lets them sign in once (until `expires_at`) and choose "
           "a new password. A deactivated user is 409." + SCOPE)
def admin_reset_password(username: str):
    session = get_session()
    issued = users.reset_password(session, runtime(), g.user, username)
    session.commit()
    return {"username": username, "initial_code": issued.code, "expires_at": issued.expires_at}


@bp.post("/admin/users/<username>/password-link")
@operation("Make a one-time set-password link", tag=TAG, response=PasswordLinkSchema, errors=(403, 404, 409),
           description="The user opens `url` and chooses their own password (at least PASSWORD_MIN_LENGTH "
           "characters); it works once, until `expires_at`. Their current password works until then. A "
           "deactivated user is 409." + SCOPE)
def admin_password_link(username: str):
    session = get_session()
    secret, expires = passwords.issue_password_link(session, runtime(), g.user, username)
    session.commit()
    return {"username": username, "expires_at": expires,
            "url": url_for("pages.set_password", secret=secret, _external=True)}


# -- org units, departments, categories ----------------------------------------------------------------
@bp.get("/admin/org-units")
@operation("Org units you administer", tag=TAG, response=AdminOrgUnitListSchema, errors=(403,),
           description="In tree order, deactivated ones too." + SCOPE)
def admin_list_units():
    return {"items": org.list_units(get_session(), runtime(), g.user)}


@bp.patch("/admin/org-units/<unit_code>")
@operation("Rename an org unit, set its area type, deactivate or reactivate it", tag=TAG, body=OrgUnitUpdateSchema,
           response=AdminOrgUnitSchema, errors=(403, 404), description="A unit with active units under it cannot be "
           "deactivated (422); a deactivated unit leaves the pickers and point placement, its old cases keep it." + SCOPE)
def admin_update_unit(unit_code: str, body):
    session = get_session()
    unit = org.update_unit(session, runtime(), g.user, unit_code, **body)
    session.commit()
    return unit


@bp.get("/admin/departments")
@operation("Departments, deactivated ones too", tag=TAG, response=AdminDepartmentListSchema, errors=(403,))
def admin_list_departments():
    return {"items": org.list_departments(get_session(), runtime(), g.user).departments}


@bp.post("/admin/departments")
@operation("Add a department", tag=TAG, body=DepartmentCreateSchema, response=AdminDepartmentSchema, status=201,
           errors=(403,), description="Checked as the city import checks departments.csv." + WIDE)
def admin_create_department(body):
    session = get_session()
    code = body.pop("code")
    row = org.save_department(session, runtime(), g.user, code, body, create=True)
    session.commit()
    return row, {"Location": url_for("api.admin_list_departments")}


@bp.patch("/admin/departments/<department_code>")
@operation("Change, deactivate or reactivate a department", tag=TAG, body=DepartmentWriteSchema,
           response=AdminDepartmentSchema, errors=(403, 404), description="One that a category names as its default "
           "department cannot be deactivated (422)." + WIDE)
def admin_update_department(department_code: str, body):
    session = get_session()
    row = org.save_department(session, runtime(), g.user, department_code, body, create=False)
    session.commit()
    return row


@bp.get("/admin/categories")
@operation("The category catalogue, deactivated ones too", tag=TAG, response=AdminCategoryListSchema, errors=(403,))
def admin_list_categories():
    return {"items": org.category_page(get_session(), runtime(), g.user).categories}


@bp.post("/admin/categories")
@operation("Add a category", tag=TAG, body=CategoryCreateSchema, response=CategorySchema, status=201, errors=(403,),
           description="Checked as the city import checks categories.csv, and against the decision tables in "
           "processes/ (routing.dmn, sla.dmn): a category they do not name is 422." + WIDE)
def admin_create_category(body):
    session = get_session()
    code = body.pop("code")
    row = org.save_category(session, runtime(), g.user, code, body, create=True)
    session.commit()
    return row, {"Location": url_for("api.admin_list_categories")}


@bp.patch("/admin/categories/<category_code>")
@operation("Change, deactivate or reactivate a category", tag=TAG, body=CategoryWriteSchema, response=CategorySchema,
           errors=(403, 404), description="A category the decision tables name cannot be deactivated (422)." + WIDE)
def admin_update_category(category_code: str, body):
    session = get_session()
    row = org.save_category(session, runtime(), g.user, category_code, body, create=False)
    session.commit()
    return row


# -- the city import and the change log ------------------------------------------------------------------
@bp.post("/admin/city-import")
@operation("Import the city from its files", tag=TAG, query=CityImportArgs, multipart=CityImportUploadSchema,
           response=CityImportSchema, errors=(403,), description="multipart/form-data with the files in parts named "
           "`files` (sheets and GeoJSON, or a zip). Checked as `gridflow city import` checks a folder: every problem "
           "is in `errors`, its field naming file, row and column, and nothing is written. With `dry_run=false` the "
           "database is made to match the files, all or nothing." + WIDE)
def admin_city_import(args):
    if request.mimetype != "multipart/form-data":
        raise MalformedBody({"_body": ["Send the files as multipart/form-data in parts named 'files'."]},
                            "The request body is not multipart/form-data.")
    load(CityImportUploadSchema(partial=("files",)), request.form)
    unknown = sorted(set(request.files) - {"files"})
    if unknown:
        raise InputError({name: ["Unknown field."] for name in unknown})
    uploads = [(f.filename or "", f.read()) for f in request.files.getlist("files")[:MAX_UPLOAD_FILES]]
    session = get_session()
    try:
        result, _ = import_uploaded_city(session, runtime(), g.user, uploads, dry_run=args["dry_run"])
    except CityError as exc:
        session.rollback()
        raise InputError(problem_fields(exc.problems), str(exc)) from None
    if args["dry_run"]:
        session.rollback()
    else:
        session.commit()
    return {"dry_run": args["dry_run"], "changes": result.changes, "passwords": result.passwords,
            "codes_expire": result.codes_expire if result.passwords else None, "counts": result.counts}


@bp.get("/admin/changes")
@operation("The change log of your scope", tag=TAG, query=ChangeArgs, response=ChangeListSchema, errors=(403,),
           description="Every administrative change, newest first: who, when, what, the old and the new values. A "
           "street's administrator reads their street's; the district's also the district-wide ones.")
def admin_changes(args):
    page = changes.history(get_session(), runtime(), g.user, changes.HistoryFilter(
        kind=args.get("kind"), code=args.get("code"), actor=args.get("actor"), since=args.get("since"),
        until=args.get("until"), limit=args["limit"], offset=args["offset"]))
    return {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset}
