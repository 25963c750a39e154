"""The task page: the task's form with values prefilled from the case, and completing it (photos
included). A form error or a lost race re-renders the form with the user's input kept."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InputError
from engine.lifecycle import cases as case_service
from engine.queries.case_view import TaskView, task_view

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp, form_int, now, store_photos, uploaded_photos
from web.present import countdown, field_value

PHOTO_WIDGET = "photos"  # a form field with this widget property is filled with the uploaded photos


@dataclass
class FormState:
    values: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    conflict: str | None = None
    uploaded: list = field(default_factory=list)


@bp.get("/tasks/<int:task_id>")
@login_required()
def task(task_id: int):
    view = task_view(get_session(), runtime(), g.user, task_id)
    return _render_task(view, FormState(values=view.values))


@bp.post("/tasks/<int:task_id>")
@login_required()
def complete(task_id: int):
    session = get_session()
    rt = runtime()
    view = task_view(session, rt, g.user, task_id)
    task_row, fields = view.task, view.fields
    values = {f.id: request.form.get(f.id) for f in fields if f.type != "boolean"}
    values.update({f.id: request.form.get(f.id) == "on" for f in fields if f.type == "boolean"})
    state = FormState(values=values)
    payload = {k: v for k, v in values.items() if v not in (None, "")}
    photo_fields = [f for f in fields if dict(f.properties).get("widget") == PHOTO_WIDGET]
    refs = [r for r in request.form.get("uploaded_refs", "").split(",") if r.startswith("att:")]
    if task_row.status != "open":
        state.conflict = _finished_message(task_row)
        return _render_task(view, state), 409
    # Photos are stored first (their own commit): a form error below must not make anyone
    # upload them again; the page lists them and sends their references back.
    files = uploaded_photos()
    if files:
        try:
            refs += [f"att:{a.id}" for a in store_photos(session, rt, task_row.case, files, task_row)]
            session.commit()
        except InputError as exc:
            session.rollback()
            state.errors = {"photos": exc.errors.get("photo", [])}
            return _render_task(task_view(session, rt, g.user, task_id), state, refs), 422
    for f in photo_fields:
        if refs and not payload.get(f.id):
            payload[f.id] = ",".join(refs)
            state.values[f.id] = payload[f.id]
    try:
        case = case_service.complete_task(session, rt, g.user, task_id, payload, form_int("case_version"))
        session.commit()
    except InputError as exc:
        session.rollback()
        state.errors = exc.errors
        return _render_task(task_view(session, rt, g.user, task_id), state, refs), 422
    except Conflict as exc:
        session.rollback()
        session.expire_all()
        state.conflict = exc.message
        return _render_task(task_view(session, rt, g.user, task_id), state, refs), 409
    flash(_("Done: %(task)s for case %(code)s.", task=current_app.jinja_env.globals["label"](task_row.name),
            code=case.code), "success")
    return redirect(url_for("pages.inbox"))


def _finished_message(task_row) -> str:
    who = task_row.completed_by.name if task_row.completed_by else None
    if who:
        return _("%(who)s completed this task first, at %(at)s. Your input is kept below; check the case "
                 "before doing anything else.", who=who,
                 at=current_app.jinja_env.globals["local_time"](task_row.completed_at))
    return _("This task is no longer open: the case moved on without it. Your input is kept below.")


def _render_task(view: TaskView, state: FormState, refs: list[str] = ()):
    task_row = view.task
    if task_row.status != "open" and not state.conflict:
        state.conflict = _finished_message(task_row)
    return render_template(
        "task.html", task=task_row, case=view.case, fields=view.fields, state=state,
        clock=countdown(task_row.due_at, now(), view.emergency), may_take=view.may_take,
        candidates=view.candidates, attachments=view.attachments, comments=view.comments,
        photo_widget=PHOTO_WIDGET, uploaded_refs=",".join(refs), department=view.department,
        facts=[(f.label, _shown(f.value)) for f in view.facts], rule=view.rule,
        photo_stages=view.photo_stages, departments=view.departments, own_record=view.own_record,
        submitted=[field_value(SimpleNamespace(fields=view.fields), k, v) for k, v in view.values.items()
                   if v not in (None, "")] if view.own_record else [])


def _shown(value) -> str:
    """A fact as text: times in the local zone, a text drawn in the process (such as a decision
    table's level name) in the page's language, numbers and other texts as they are."""
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            return current_app.jinja_env.globals["local_time"](datetime.fromisoformat(value))
        except ValueError:
            pass
    return current_app.jinja_env.globals["label"](value) if isinstance(value, str) else str(value)
