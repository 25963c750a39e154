"""The start page's redirect, the inbox with its saved filters, and claiming, releasing and
assigning tasks from it."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InputError
from engine.lifecycle import tasks as task_service
from engine.queries import inbox as inbox_service

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import PAGE_SIZE, back, bp, error_text, filter_options, filtered, form_int, int_arg, now
from web.present import countdown
from web.wording import translated


@bp.get("/start")
@login_required()
def start():
    roles = {m.role for m in g.user.memberships}
    if roles <= {"supervisor"}:
        return redirect(url_for("pages.board"))
    return redirect(url_for("pages.inbox"))


def _team_roles() -> tuple[str, ...]:
    return runtime().policy.team_view_roles


@bp.get("/inbox")
@login_required()
def inbox():
    session = get_session()
    offset = int_arg("offset")
    moment = now()

    def parse(args):
        f = inbox_service.InboxFilter.parse(args)
        if f.team and not inbox_service.team_scopes(g.user, _team_roles()):  # policy.toml [team_view]
            f = inbox_service.InboxFilter(**{**f.__dict__, "team": False})
        return f

    f, page, errors = filtered(parse, inbox_service.InboxFilter(), lambda f: inbox_service.inbox_page(
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
    saved = [(s, inbox_service.count_matching(session, g.user, _parse_saved(s), now=moment,
                                                 team_roles=_team_roles()))
             for s in inbox_service.saved_filters(session, g.user)]
    is_admin = any(m.role == "admin" for m in g.user.memberships)  # the one who can edit the calendar file
    return render_template("inbox/inbox.html", **context, args=args, saved=saved,
                           calendar_years=runtime().calendar_missing_years() if is_admin else [],
                           is_leader=bool(inbox_service.team_scopes(g.user, _team_roles())),
                           options=filter_options(session), quick=_quick_links(f))


def _parse_saved(saved):
    try:
        return inbox_service.InboxFilter.parse(inbox_service.saved_filter_args(saved))
    except InputError:
        return inbox_service.InboxFilter()


def _task_row(task, moment) -> dict:
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
        flash(error_text(exc), "error")
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
@bp.post("/tasks/<int:task_id>/claim")
@login_required()
def claim(task_id: int):
    return _assignment(task_id, lambda s, rt: task_service.claim(s, rt, g.user, task_id, form_int("version")),
                       _("You took the task."))


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required()
def unclaim(task_id: int):
    return _assignment(task_id, lambda s, rt: task_service.unclaim(s, rt, g.user, task_id, form_int("version")),
                       _("The task is back in the team's inbox."))


@bp.post("/tasks/<int:task_id>/assign")
@login_required(lambda: runtime().policy.assign_roles)
def assign(task_id: int):
    username = request.form.get("assignee", "")
    return _assignment(task_id, lambda s, rt: task_service.assign(s, rt, g.user, task_id, username,
                                                                  form_int("version")),
                       _("The task was assigned."))


def _assignment(task_id: int, action, done: str):
    session = get_session()
    try:
        action(session, runtime())
        session.commit()
        flash(done, "success")
    except (Conflict, InputError) as exc:
        session.rollback()
        flash(translated(exc.message) if isinstance(exc, Conflict) else error_text(exc), "error")
    return redirect(back(url_for("pages.task", task_id=task_id)))
