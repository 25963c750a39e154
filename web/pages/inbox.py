"""The start page's redirect, the inbox with its saved filters, and claiming, releasing and
assigning tasks from it."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InputError
from engine.lifecycle import tasks as task_service
from engine.queries import inbox as inbox_service

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import PAGE_SIZE, back, bp, error_text, filtered, form_int, int_arg, now
from web.present import countdown
from web.wording import translated


@bp.get("/start")
@login_required()
def start():
    if runtime().policy.starts_on_board(g.user):  # policy.toml [start]
        return redirect(url_for("pages.board"))
    return redirect(url_for("pages.inbox"))


@bp.get("/inbox")
@login_required()
def inbox():
    offset = int_arg("offset")
    moment = now()
    part = "rows" if request.args.get("rows") else "body" if request.args.get("partial") else "page"
    cache = current_app.extensions.setdefault("gridflow.page_cache", {})
    f, view, errors = filtered(inbox_service.InboxFilter.parse, inbox_service.InboxFilter(),
                               lambda f: inbox_service.inbox_view(get_session(), runtime(), g.user, f, now=moment,
                                                                  limit=PAGE_SIZE, offset=offset, part=part,
                                                                  cache=cache))
    f = view.filter
    rows = [_task_row(task, moment) for task in view.page.items]
    args = f.args()
    next_url = (url_for("pages.inbox", **args, offset=offset + PAGE_SIZE, rows=1)
                if offset + PAGE_SIZE < view.page.total else None)
    if part == "rows":  # "more" button: only the next rows
        return render_template("inbox/_rows.html", rows=rows, next_url=next_url)
    context = dict(rows=rows, page=view.page, f=f, errors=errors, moment=moment, next_url=next_url,
                   counts=view.counts, refresh_url=url_for("pages.inbox", **args, partial=1))
    if part == "body":  # the periodic refresh: only the list and its counts
        return render_template("inbox/_body.html", **context)
    return render_template("inbox/inbox.html", **context, args=args, saved=view.saved,
                           calendar_years=view.calendar_years, is_leader=view.team_available,
                           options=view.options, quick=_quick_links(f))


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
