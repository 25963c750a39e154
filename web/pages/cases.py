"""The case page (timeline, open tasks, the diagram with the path taken, photos, comments) and
case search."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine.errors import InputError
from engine.lifecycle import attachments as attachment_service
from engine.lifecycle import cases as case_service
from engine.lifecycle import comments as comment_service
from engine.queries import directory
from engine.queries import search as search_service
from engine.queries.case_view import case_view

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import (PAGE_SIZE, back, bp, error_text, filter_options, filtered, int_arg, now, store_photos,
                       uploaded_photos)
from web.present import countdown


@bp.get("/cases/<code>")
@login_required()
def case(code: str):
    moment = now()
    view = case_view(get_session(), runtime(), g.user, code, moment)
    return render_template(
        "case.html", case=view.case, events=view.events, open_tasks=view.open_tasks,
        clock=countdown(view.case.due_at, moment, view.emergency),
        task_clocks={t.id: countdown(t.due_at, moment, view.emergency) for t in view.open_tasks},
        attachments=view.attachments, photo_stages=view.photo_stages, comments=view.comments,
        duplicates=view.duplicates, satisfaction=view.satisfaction,
        supervision=view.supervision,
        supervision_clocks={s.task.id: countdown(s.task.due_at, moment, view.emergency)
                            for s in view.supervision if s.task.status == "open"},
        department=view.department, version=view.version, departments=view.departments, path=view.path)


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
        flash(error_text(exc, "body"), "error")
    return redirect(back(url_for("pages.case", code=code)) + "#comments")


@bp.post("/cases/<code>/attachments")
@login_required()
def add_attachments(code: str):
    session = get_session()
    case_row = case_service.get_case(session, g.user, code)
    files = uploaded_photos()
    if not files:
        flash(_("Choose at least one photo."), "error")
    else:
        try:
            store_photos(session, runtime(), case_row, files)
            session.commit()
            flash(_("Photos attached."), "success")
        except InputError as exc:
            session.rollback()
            flash(error_text(exc, "photo"), "error")
    return redirect(back(url_for("pages.case", code=code)) + "#attachments")


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
    cursor = request.args.get("cursor") or None
    try:
        if cursor:
            search_service.decode_cursor(cursor)
    except InputError:
        cursor = None  # a mangled link: show the first page
    offset = 0 if cursor else int_arg("offset")  # old links with an offset keep working
    moment = now()
    f, page, errors = filtered(search_service.CaseFilter.parse, search_service.CaseFilter(), lambda f: (
        search_service.search_cases(session, runtime(), g.user, f, now=moment, limit=PAGE_SIZE, offset=offset,
                                    cursor=cursor)))
    args = f.args()
    # Next pages follow the keyset cursor, which cases arriving meanwhile do not shift.
    first_url = url_for("pages.cases", **args) if cursor or offset else None
    return render_template("cases.html", page=page, f=f, args=args, errors=errors,
                           departments=directory.departments(session),
                           clocks={c.id: countdown(c.due_at, moment, c.category.emergency) for c in page.items},
                           options=filter_options(session), first_url=first_url,
                           next_url=url_for("pages.cases", **args, cursor=page.next_cursor) if page.next_cursor
                           else None)
