"""The pages people work in all day: inbox, task, intake, case, case search, supervision board,
notifications. Server-rendered; htmx refreshes the inbox and the board in place.

Every view finds records through the engine's visibility rules (a case or task outside the
user's scope is a 404, whatever the URL), commits once, and on bad input re-renders the form
with the errors beside their fields and the user's input kept.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlencode

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from engine.lifecycle import attachments as attachment_service
from engine.lifecycle import cases as case_service
from engine.lifecycle import comments as comment_service
from engine.queries import directory
from engine.queries import inbox as inbox_service
from engine.outbound import notifications as notification_service
from engine.queries import search as search_service
from engine.lifecycle import tasks as task_service
from engine.errors import Conflict, Forbidden, InputError, NotFound
from engine.access.org import may_take
from models import Case, Category, Department, OrgUnit, ProcessVersion, Task

from web.api import core as api
from web.auth import login_required, safe_next
from web.db import get_session, runtime
from web.present import countdown

bp = Blueprint("pages", __name__)
PAGE_SIZE = 50
PHOTO_WIDGET = "photos"



def _intake_roles() -> tuple[str, ...]:
    return case_service.reporter_roles(runtime().policy)


def _team_roles() -> tuple[str, ...]:
    return runtime().policy.team_view_roles


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


def now():
    return runtime().clock()


def _int_arg(name: str, default: int = 0, maximum: int = 10 ** 9) -> int:
    try:
        return min(max(int(request.args.get(name, default)), 0), maximum)
    except ValueError:
        return default


# -- start ---------------------------------------------------------------------------------------
@bp.get("/start")
@login_required()
def start():
    roles = {m.role for m in g.user.memberships}
    if roles <= {"supervisor"}:
        return redirect(url_for("pages.board"))
    return redirect(url_for("pages.inbox"))


# -- inbox ---------------------------------------------------------------------------------------
@bp.get("/inbox")
@login_required()
def inbox():
    session = get_session()
    offset = _int_arg("offset")
    moment = now()

    def parse(args):
        f = inbox_service.InboxFilter.parse(args)
        if f.team and not inbox_service.team_scopes(g.user, _team_roles()):  # policy.toml [team_view]
            f = inbox_service.InboxFilter(**{**f.__dict__, "team": False})
        return f

    f, page, errors = _filtered(parse, inbox_service.InboxFilter(), lambda f: inbox_service.inbox_page(
        session, g.user, f, now=moment, limit=PAGE_SIZE, offset=offset, team_roles=_team_roles()))
    rows = [_task_row(task, moment) for task in page.items]
    args = f.args()
    next_url = (url_for("pages.inbox", **args, offset=offset + PAGE_SIZE, rows=1)
                if offset + PAGE_SIZE < page.total else None)
    if request.args.get("rows"):  # "more" button: only the next rows
        return render_template("inbox/_rows.html", rows=rows, next_url=next_url)
    context = dict(rows=rows, page=page, f=f, errors=errors, moment=moment, next_url=next_url,
                   counts=inbox_service.inbox_counts(session, g.user, now=moment, team=f.team,
                                                     team_roles=_team_roles()),
                   refresh_url=url_for("pages.inbox", **args, partial=1))
    if request.args.get("partial"):  # the periodic refresh: only the list and its counts
        return render_template("inbox/_body.html", **context)
    saved = [(s, inbox_service.count_matching(session, g.user, _parse_saved(s), now=moment, team_roles=_team_roles()))
             for s in inbox_service.saved_filters(session, g.user)]
    return render_template("inbox/inbox.html", **context, args=args, saved=saved,
                           is_leader=bool(inbox_service.team_scopes(g.user, _team_roles())),
                           options=_filter_options(session), quick=_quick_links(f))


def _filtered(parse, empty, run):
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


def _parse_saved(saved):
    try:
        return inbox_service.InboxFilter.parse(inbox_service.saved_filter_args(saved))
    except InputError:
        return inbox_service.InboxFilter()


def _task_row(task: Task, moment) -> dict:
    case = task.case
    clock = countdown(task.due_at, moment, case.category.emergency if case.category else False)
    if clock["state"] == "ok" and case.at_risk:
        clock["state"] = "at_risk"
    return {"task": task, "case": case, "clock": clock}


def _quick_links(f) -> list[tuple[str, str, dict]]:
    base = {"team": "1"} if f.team else {}
    return [("all", _("All"), base), ("overdue", _("Overdue"), {**base, "flag": "overdue"}),
            ("at_risk", _("At risk"), {**base, "flag": "at_risk"}), ("me", _("Assigned to me"), {**base, "assigned": "me"}),
            ("unassigned", _("Unassigned"), {**base, "assigned": "unassigned"})]


def _filter_options(session) -> dict:
    """Choices of the filter form: categories by 大类, and streets/communities (cached briefly)."""
    cache = current_app.extensions.setdefault("gridflow.page_cache", {})
    cached = cache.get("filter_options")
    if cached and time.monotonic() - cached[0] < 60:
        return _for_user(cached[1])
    # Plain copies: the cache outlives the request's session.
    categories = [SimpleNamespace(code=c.code, name=c.name, name_en=c.name_en, major_name=c.major_name,
                                  major_name_en=c.major_name_en)
                  for c in session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code))]
    units = [SimpleNamespace(code=u.code, name=u.name, name_en=u.name_en, level=u.level, path=u.path,
                             indent=_INDENT[u.level])
             for u in session.scalars(select(OrgUnit).where(OrgUnit.level.in_(tuple(_INDENT)))
                                      .order_by(OrgUnit.path))]
    options = {"categories": categories, "units": units}
    cache["filter_options"] = (time.monotonic(), options)
    return _for_user(options)


_INDENT = {"street": 0, "community": 1, "grid": 2}


def _for_user(options: dict) -> dict:
    """Only the areas of the user's org scopes (department staff work across the district)."""
    scopes = [m.scope_key for m in g.user.memberships if not m.scope_key.startswith("dept:")]
    if not scopes:
        return options
    units = [u for u in options["units"] if any(u.path.startswith(s) or s.startswith(u.path) for s in scopes)]
    return {**options, "units": units}


@bp.post("/inbox/filters")
@login_required()
def save_filter():
    session = get_session()
    try:
        f = inbox_service.InboxFilter.parse(request.form)
        inbox_service.save_filter(session, g.user, request.form.get("name"), f, now=now())
        session.commit()
        flash(_("Filter saved."), "success")
    except InputError as exc:
        flash("; ".join(m for msgs in exc.errors.values() for m in msgs), "error")
        f = inbox_service.InboxFilter()
    return redirect(url_for("pages.inbox", **f.args()))


@bp.post("/inbox/filters/<int:filter_id>/delete")
@login_required()
def delete_filter(filter_id: int):
    session = get_session()
    inbox_service.delete_filter(session, g.user, filter_id)
    session.commit()
    flash(_("Filter deleted."), "success")
    return redirect(url_for("pages.inbox"))


# -- claiming ------------------------------------------------------------------------------------
def _back(default: str) -> str:
    return safe_next(request.form.get("next"), default)


@bp.post("/tasks/<int:task_id>/claim")
@login_required()
def claim(task_id: int):
    return _assignment(task_id, lambda s, rt: task_service.claim(s, rt, g.user, task_id, _form_int("version")),
                       _("You took the task."))


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required()
def unclaim(task_id: int):
    return _assignment(task_id, lambda s, rt: task_service.unclaim(s, rt, g.user, task_id, _form_int("version")),
                       _("The task is back in the team's inbox."))


@bp.post("/tasks/<int:task_id>/assign")
@login_required(lambda: runtime().policy.assign_roles)
def assign(task_id: int):
    username = request.form.get("assignee", "")
    return _assignment(task_id, lambda s, rt: task_service.assign(s, rt, g.user, task_id, username, _form_int("version")),
                       _("The task was assigned."))


def _form_int(name: str) -> int | None:
    raw = request.form.get(name)
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None


def _assignment(task_id: int, action, done: str):
    session = get_session()
    try:
        action(session, runtime())
        session.commit()
        flash(done, "success")
    except (Conflict, InputError) as exc:
        session.rollback()
        message = exc.message if isinstance(exc, Conflict) else "; ".join(
            m for msgs in exc.errors.values() for m in msgs)
        flash(message, "error")
    return redirect(_back(url_for("pages.task", task_id=task_id)))


# -- task page -----------------------------------------------------------------------------------
@dataclass
class FormState:
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    conflict: str | None = None
    uploaded: list = field(default_factory=list)


@bp.get("/tasks/<int:task_id>")
@login_required()
def task(task_id: int):
    session = get_session()
    details = task_service.task_details(session, runtime(), g.user, task_id)
    return _render_task(session, details, FormState(values=details.values))


@bp.post("/tasks/<int:task_id>")
@login_required()
def complete(task_id: int):
    session = get_session()
    rt = runtime()
    details = task_service.task_details(session, rt, g.user, task_id)
    task_row, fields = details.task, details.fields
    values = {f.id: request.form.get(f.id) for f in fields if f.type != "boolean"}
    values.update({f.id: request.form.get(f.id) == "on" for f in fields if f.type == "boolean"})
    state = FormState(values=values)
    payload = {k: v for k, v in values.items() if v not in (None, "")}
    photo_fields = [f for f in fields if dict(f.properties).get("widget") == PHOTO_WIDGET]
    refs = [r for r in request.form.get("uploaded_refs", "").split(",") if r.startswith("att:")]
    if task_row.status != "open":
        state.conflict = _finished_message(task_row)
        return _render_task(session, details, state), 409
    # Photos are stored first (their own commit): a form error below must not make anyone
    # upload them again; the page lists them and sends their references back.
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    if files:
        try:
            refs += [f"att:{a.id}" for a in _store_photos(session, rt, task_row.case, files, task_row)]
            session.commit()
        except InputError as exc:
            session.rollback()
            state.errors = {"photos": exc.errors.get("photo", [])}
            return _render_task(session, details, state, refs), 422
    for f in photo_fields:
        if refs and not payload.get(f.id):
            payload[f.id] = ",".join(refs)
            state.values[f.id] = payload[f.id]
    try:
        case = case_service.complete_task(session, rt, g.user, task_id, payload, _form_int("case_version"))
        session.commit()
    except InputError as exc:
        session.rollback()
        state.errors = exc.errors
        return _render_task(session, details, state, refs), 422
    except Conflict as exc:
        session.rollback()
        session.expire_all()
        state.conflict = exc.message
        return _render_task(session, task_service.task_details(session, rt, g.user, task_id), state, refs), 409
    flash(_("Done: %(task)s for case %(code)s.", task=current_app.jinja_env.globals["label"](task_row.name),
            code=case.code), "success")
    return redirect(url_for("pages.inbox"))


def _finished_message(task_row: Task) -> str:
    who = task_row.completed_by.name if task_row.completed_by else None
    if who:
        return _("%(who)s completed this task first, at %(at)s. Your input is kept below; check the case "
                 "before doing anything else.", who=who,
                 at=current_app.jinja_env.globals["local_time"](task_row.completed_at))
    return _("This task is no longer open: the case moved on without it. Your input is kept below.")


def _store_photos(session, rt, case, files: list[FileStorage], task_row=None):
    stored = []
    for upload in files[:10]:
        data = upload.read(int(rt.settings.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)) + 1)
        stored.append(attachment_service.add_attachment(session, rt, g.user, case, upload.filename, data,
                                                        task=task_row))
    return stored


def _render_task(session, details, state: FormState, refs: list[str] = ()):
    task_row = details.task
    case = task_row.case
    moment = now()
    if task_row.status != "open" and not state.conflict:
        state.conflict = _finished_message(task_row)
    leader = task_service.may_assign(runtime(), g.user, task_row)
    return render_template(
        "task.html", task=task_row, case=case, fields=details.fields, state=state,
        clock=countdown(task_row.due_at, moment, case.category.emergency),
        may_take=may_take(g.user, task_row.role, task_row.scope_key),
        candidates=task_service.candidates(session, task_row) if leader and task_row.status == "open" else [],
        attachments=attachment_service.list_attachments(session, case),
        comments=comment_service.list_comments(session, case),
        photo_widget=PHOTO_WIDGET, uploaded_refs=",".join(refs),
        department=_department(session, case.department_code))


def _department(session, code):
    return session.scalars(select(Department).where(Department.code == code)).first() if code else None


# -- intake --------------------------------------------------------------------------------------
@bp.get("/report")
@login_required(_intake_roles)
def report():
    session = get_session()
    return render_template("report.html", **_intake_context(session, {}, {}))


@bp.post("/report")
@login_required(_intake_roles)
def report_submit():
    session = get_session()
    rt = runtime()
    form = request.form
    values = {k: form.get(k, "").strip() for k in ("category_code", "grid_code", "address", "lat", "lng",
                                                   "description", "urgency", "source", "reporter_name",
                                                   "reporter_phone")}
    values["self_handled"] = form.get("self_handled") == "on"
    errors: dict[str, list[str]] = {}
    report_data = {k: v for k, v in values.items() if k not in ("lat", "lng") and v not in ("",)}
    report_data["self_handled"] = values["self_handled"]
    report_data.setdefault("source", "patrol")  # a grid worker's form has no channel: the patrol
    for key in ("lat", "lng"):
        if values[key]:
            try:
                number = float(values[key])
                limit = 90 if key == "lat" else 180
                if not -limit <= number <= limit:
                    raise ValueError
                report_data[key] = number
            except ValueError:
                errors[key] = [_("Must be a number between -%(n)d and %(n)d.", n=90 if key == "lat" else 180)]
    if (values["lat"] == "") != (values["lng"] == ""):
        errors.setdefault("lng", []).append(_("Give both latitude and longitude, or neither."))
    if len(values["description"]) > 2000:
        errors["description"] = [_("At most 2000 characters.")]
    if not values["description"]:
        errors["description"] = [_("Describe what you found.")]
    if len(values["address"]) > 255:
        errors["address"] = [_("At most 255 characters.")]
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    if not errors:
        try:
            case = case_service.report_case(session, rt, g.user, report_data)
            _store_photos(session, rt, case, files)
            session.commit()
            flash(_("Case %(code)s reported.", code=case.code), "success")
            return redirect(url_for("pages.case", code=case.code))
        except InputError as exc:
            session.rollback()
            errors = {("photos" if k == "photo" else k): v for k, v in exc.errors.items()}
        except Forbidden as exc:
            session.rollback()
            errors = {"grid_code": [exc.message]}
    if files and not errors.get("photos"):
        errors.setdefault("photos", []).append(_("Nothing was saved; choose the photos again."))
    return render_template("report.html", **_intake_context(session, values, errors)), 422


def _intake_context(session, values: dict, errors: dict) -> dict:
    categories = list(session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code)))
    majors: dict[str, dict] = {}
    for c in categories:
        majors.setdefault(f"{c.kind}:{c.major_code}", {"code": c.code[:3], "kind": c.kind, "name": c.major_name,
                                                       "name_en": c.major_name_en, "items": []})["items"].append(c)
    scopes = [m.scope_key for m in g.user.memberships if m.role in _intake_roles() and not m.scope_key.startswith("dept:")]
    query = select(OrgUnit).where(OrgUnit.level == "grid")
    grids = [u for u in session.scalars(query.order_by(OrgUnit.code)) if any(u.path.startswith(s) for s in scopes)]
    own = [m.scope_key for m in g.user.memberships if m.role == "grid_worker"]
    default_grid = next((u.code for u in grids if u.path in own), grids[0].code if len(grids) == 1 else "")
    roles = {m.role for m in g.user.memberships}
    policy = runtime().policy  # clerks record the channels other than the self-handling ones (patrol)
    clerk_roles = {r for c, listed in policy.channels.items() if c not in policy.self_handling_channels for r in listed}
    values = {"urgency": "normal", "grid_code": default_grid, "source": "patrol" if "grid_worker" in roles else "hotline",
              **values}
    return {"majors": list(majors.values()), "grids": grids, "values": values, "errors": errors,
            "is_worker": bool(roles & set(policy.self_handling_roles)), "is_clerk": bool(roles & clerk_roles),
            "sources": [s for s in case_service.SOURCES if s != "patrol"]}


# -- case page -----------------------------------------------------------------------------------
@bp.get("/cases/<code>")
@login_required()
def case(code: str):
    session = get_session()
    rt = runtime()
    case_row = case_service.get_case(session, g.user, code)
    moment = now()
    bundle = rt.bundle(session, case_row.process_version_id)
    events = case_service.timeline(session, case_row)
    open_tasks = case_service.open_tasks(session, case_row)
    done, steps = rt.workflows.path_taken(rt.workflows.load_state(bundle, case_row.state))
    overdue = sorted({t.bpmn_id for t in open_tasks if t.due_at and t.due_at <= moment})
    duplicates = list(session.scalars(select(Case).where(Case.duplicate_of_id == case_row.id).order_by(Case.id)))
    version = session.get(ProcessVersion, case_row.process_version_id)
    departments = {d.code: d for d in directory.departments(session)}
    return render_template(
        "case.html", case=case_row, events=[(e, bundle.node(e.task_bpmn_id) if e.task_bpmn_id else None)
                                            for e in events],
        open_tasks=open_tasks, clock=countdown(case_row.due_at, moment, case_row.category.emergency),
        task_clocks={t.id: countdown(t.due_at, moment, case_row.category.emergency) for t in open_tasks},
        attachments=attachment_service.list_attachments(session, case_row),
        comments=comment_service.list_comments(session, case_row), duplicates=duplicates,
        department=departments.get(case_row.department_code), version=version, departments=departments,
        path={"done": done, "steps": steps, "current": sorted({t.bpmn_id for t in open_tasks}), "overdue": overdue})


@bp.get("/cases/<code>/diagram.bpmn")
@login_required()
def diagram(code: str):
    session = get_session()
    case_row = case_service.get_case(session, g.user, code)
    return current_app.response_class(directory.main_diagram(session, case_row.process_version_id),
                                      mimetype="application/xml")


@bp.post("/cases/<code>/comments")
@login_required()
def add_comment(code: str):
    session = get_session()
    case_row = case_service.get_case(session, g.user, code)
    try:
        comment_service.add_comment(session, runtime(), g.user, case_row, request.form.get("body"))
        session.commit()
        flash(_("Comment added."), "success")
    except InputError as exc:
        session.rollback()
        flash("; ".join(exc.errors.get("body", [])), "error")
    return redirect(_back(url_for("pages.case", code=code)) + "#comments")


@bp.post("/cases/<code>/attachments")
@login_required()
def add_attachments(code: str):
    session = get_session()
    case_row = case_service.get_case(session, g.user, code)
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    if not files:
        flash(_("Choose at least one photo."), "error")
    else:
        try:
            _store_photos(session, runtime(), case_row, files)
            session.commit()
            flash(_("Photos attached."), "success")
        except InputError as exc:
            session.rollback()
            flash("; ".join(exc.errors.get("photo", [])), "error")
    return redirect(_back(url_for("pages.case", code=code)) + "#attachments")


@bp.get("/cases/<code>/attachments/<int:attachment_id>")
@bp.get("/cases/<code>/attachments/<int:attachment_id>/thumb", defaults={"thumb": True})
@login_required()
def attachment(code: str, attachment_id: int, thumb: bool = False):
    session = get_session()
    case_row = case_service.get_case(session, g.user, code)
    stored = attachment_service.attachment_file(session, runtime(), case_row, attachment_id, thumbnail=thumb)
    return send_file(stored.path, mimetype=stored.content_type, download_name=stored.filename, max_age=3600)


# -- case search ---------------------------------------------------------------------------------
@bp.get("/cases")
@login_required()
def cases():
    session = get_session()
    offset = _int_arg("offset")
    moment = now()
    f, page, errors = _filtered(search_service.CaseFilter.parse, search_service.CaseFilter(), lambda f: (
        search_service.search_cases(session, runtime(), g.user, f, now=moment, limit=PAGE_SIZE, offset=offset)))
    departments = directory.departments(session)
    args = f.args()
    return render_template("cases.html", page=page, f=f, args=args, errors=errors, departments=departments,
                           clocks={c.id: countdown(c.due_at, moment, c.category.emergency) for c in page.items},
                           options=_filter_options(session),
                           prev_url=url_for("pages.cases", **args, offset=max(offset - PAGE_SIZE, 0)) if offset else None,
                           next_url=url_for("pages.cases", **args, offset=offset + PAGE_SIZE)
                           if offset + PAGE_SIZE < page.total else None)


# -- supervision board ---------------------------------------------------------------------------
@bp.get("/board")
@login_required(lambda: runtime().policy.board_roles)
def board():
    session = get_session()
    moment = now()
    data = search_service.supervision_board(session, g.user, now=moment, board_roles=runtime().policy.board_roles)
    rt = runtime()
    context = dict(board=data, warning=rt.calendar_warning(),
                   missing_years=rt.calendar.missing_years(moment, moment.replace(year=moment.year + 1)),
                   moment=moment,
                   clocks={t.id: countdown(t.due_at, moment, t.case.category.emergency) for t in data.supervise_tasks})
    if request.args.get("partial"):
        return render_template("board/_body.html", **context)
    return render_template("board/board.html", **context)


# -- notifications -------------------------------------------------------------------------------
@bp.get("/notifications")
@login_required()
def notifications():
    session = get_session()
    items = notification_service.unread(session, g.user.id, limit=100)
    codes = dict(session.execute(select(Case.id, Case.code).where(Case.id.in_({n.case_id for n in items if n.case_id}))).all())
    return render_template("notifications.html", items=items, codes=codes)


@bp.post("/notifications/read")
@login_required()
def read_notifications():
    session = get_session()
    ids = [int(i) for i in request.form.getlist("id") if i.isdigit() and len(i) < 12]
    if request.form.get("all"):
        ids = [n.id for n in notification_service.unread(session, g.user.id, limit=500)]
    if ids:
        notification_service.mark_read(session, g.user.id, ids, now())
        session.commit()
    return redirect(url_for("pages.notifications"))


@bp.app_context_processor
def _globals():
    unread = 0
    if g.get("user") is not None:
        from sqlalchemy import func
        from models import Notification
        unread = get_session().scalar(select(func.count(Notification.id)).where(
            Notification.user_id == g.user.id, Notification.read_at.is_(None))) or 0
    return {"unread_count": unread, "urlencode": urlencode}
