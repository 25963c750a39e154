"""/api/v1 tasks (inbox, counts, one task, claim, unclaim, assign, complete) and notifications.

Writes take ``If-Match``: a task's ETag is ``"<case version>.<task version>"``, a case's is
``"<case version>"``; a stale one is 412 Precondition Failed and changes nothing.
"""
from __future__ import annotations

from flask import g

from engine.lifecycle import cases as case_service
from engine.lifecycle import tasks as task_service
from engine.outbound import notifications
from engine.queries.inbox import InboxFilter, inbox_counts, inbox_page, task_form

from web.api.cases import CaseResource, case_etag
from web.api.core import bp, operation
from web.api.schemas.cases import CaseSchema
from web.api.schemas.tasks import (AssignArgs, InboxArgs, InboxCountsSchema, InboxPageSchema, MarkedReadSchema,
                                   NotificationListSchema, PersonListSchema, ReadNotificationsSchema,
                                   TaskDetailSchema, TaskSchema, TeamArgs, task_etag)
from web.db import get_session, runtime

FORM_BODY = {"type": "object", "additionalProperties": False,
             "description": "The task's form fields by id, as GET /tasks/{task_id} lists them (any other "
                            "field is refused); "
                            "every field is checked and all errors come back at once."}


class TaskResource:
    """A task with its form (and, for one task, its prefilled values), as the task schemas dump it."""

    def __init__(self, task, form, values=None):
        self._task, self.form, self.values = task, form, values or {}

    def __getattr__(self, name):
        return getattr(self._task, name)


def with_etag(task) -> dict[str, str]:
    return {"ETag": f'"{task_etag(task)}"'}


def _expected(if_match):
    """(case version, task version) from If-Match, each None when not given."""
    return if_match if if_match else (None, None)


@bp.get("/tasks")
@operation("My inbox", tag="tasks", query=InboxArgs, response=InboxPageSchema,
           description="Open tasks whose role and scope match yours (claimed by you or by nobody), "
           "least time left first, each with its form. The filters are the web inbox's.")
def list_tasks(args):
    session, rt = get_session(), runtime()
    page_args = {k: args.pop(k) for k in ("limit", "offset")}
    page = inbox_page(session, g.user, InboxFilter.parse(args), now=rt.clock(),
                      team_roles=rt.policy.team_view_roles, **page_args)
    page.items = [TaskResource(t, task_form(session, rt, t)) for t in page.items]
    return page


@bp.get("/tasks/counts")
@operation("Counts for the inbox's quick filters", tag="tasks", query=TeamArgs, response=InboxCountsSchema)
def count_tasks(args):
    rt = runtime()
    return inbox_counts(get_session(), g.user, now=rt.clock(), team=args.get("team", False),
                        team_roles=rt.policy.team_view_roles)


@bp.get("/tasks/<int:task_id>")
@operation("Read a task with its form and prefilled values", tag="tasks", response=TaskDetailSchema,
           errors=(404,), etag=True)
def get_task(task_id: int):
    details = task_service.task_details(get_session(), runtime(), g.user, task_id)
    return TaskResource(details.task, details.fields, details.values), with_etag(details.task)


@bp.get("/tasks/<int:task_id>/candidates")
@operation("People a shift leader may assign the task to", tag="tasks", response=PersonListSchema, errors=(404,))
def task_candidates(task_id: int):
    return {"items": task_service.assignable(get_session(), g.user, task_id)}


def _task_answer(session, task):
    session.commit()
    return TaskResource(task, task_form(session, runtime(), task)), with_etag(task)


@bp.post("/tasks/<int:task_id>/claim")
@operation("Claim a task", tag="tasks", response=TaskSchema, errors=(403, 404, 409), if_match=True, etag=True,
           description="Take an open task for yourself; 409 when someone else holds it or it is finished.")
def claim(task_id: int, if_match):
    session = get_session()
    case_version, task_version = _expected(if_match)
    task = task_service.claim(session, runtime(), g.user, task_id, task_version, case_version)
    return _task_answer(session, task)


@bp.post("/tasks/<int:task_id>/unclaim")
@operation("Release a claimed task", tag="tasks", response=TaskSchema, errors=(403, 404, 409), if_match=True,
           etag=True, description="Its assignee, or a shift leader over it, gives it back to the pool.")
def unclaim(task_id: int, if_match):
    session = get_session()
    case_version, task_version = _expected(if_match)
    task = task_service.unclaim(session, runtime(), g.user, task_id, task_version, case_version)
    return _task_answer(session, task)


@bp.post("/tasks/<int:task_id>/assign")
@operation("Assign a task to someone", tag="tasks", body=AssignArgs, response=TaskSchema, errors=(403, 404, 409),
           if_match=True, etag=True, description="A shift leader over the case hands the task to a person who may "
           "take it (GET …/candidates lists them).")
def assign(task_id: int, body, if_match):
    session = get_session()
    case_version, task_version = _expected(if_match)
    task = task_service.assign(session, runtime(), g.user, task_id, body["assignee"], task_version, case_version)
    return _task_answer(session, task)


@bp.post("/tasks/<int:task_id>/complete")
@operation("Complete a task", tag="tasks", body=FORM_BODY, response=CaseSchema, errors=(403, 404, 409),
           if_match=True, etag=True, description="Submit the task's form; the case steps on and the answer is the "
           "case with its new version. If-Match takes the task's ETag or the case's.")
def complete(task_id: int, body, if_match):
    session = get_session()
    case_version, task_version = _expected(if_match)
    case = case_service.complete_task(session, runtime(), g.user, task_id, body, case_version, task_version)
    session.commit()
    return CaseResource(session, case), case_etag(case)


# -- notifications -------------------------------------------------------------------------------
@bp.get("/notifications")
@operation("My unread notifications", tag="notifications", response=NotificationListSchema)
def list_notifications():
    return {"items": notifications.unread(get_session(), g.user.id)}


@bp.post("/notifications/read")
@operation("Mark notifications read", tag="notifications", body=ReadNotificationsSchema, response=MarkedReadSchema,
           description="Only your own notifications change; others' ids are ignored.")
def read_notifications(body):
    session = get_session()
    changed = notifications.mark_read(session, g.user.id, body["ids"], runtime().clock())
    session.commit()
    return {"marked_read": changed}
