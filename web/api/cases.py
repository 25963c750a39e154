"""/api/v1 cases: report, search, read (with open tasks and timeline), photos and internal comments."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, request, send_file, url_for

from engine.errors import InputError
from engine.lifecycle import attachments as attachment_service
from engine.lifecycle import cases as case_service
from engine.public.texts import public_text
from engine.lifecycle import comments as comment_service
from engine.lifecycle.idempotency import report_once
from engine.lifecycle.tasks import task_of_case
from engine.queries.case_view import open_and_supervision_tasks, supervision_steps
from engine.queries.search import CaseFilter, search_cases

from web.api.core import MalformedBody, bp, load, operation, problem
from web.api.schemas.cases import (AttachmentListSchema, AttachmentSchema, AttachmentUploadSchema,
                                   CaseCreatedSchema, CasePageSchema, CaseReportSchema, CaseSchema, CaseSearchArgs,
                                   CommentArgs, CommentListSchema, CommentSchema, EventListSchema)
from web.db import get_session, runtime
from web.errors import TooLarge
from web.ratelimit import rate_limited

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


def case_etag(case) -> dict[str, str]:
    return {"ETag": f'"{case.version}"'}


class CaseResource:
    """A case with its open tasks and timeline, as CaseSchema dumps it."""

    def __init__(self, session, case):
        self._case = case
        self.open_tasks, tasks = open_and_supervision_tasks(session, runtime(), case)
        self.timeline = case_service.timeline(session, case)
        self.supervision = supervision_steps(session, runtime(), case, events=self.timeline, tasks=tasks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)


CASE_ERRORS = (404,)


@bp.post("/cases")
@operation("Report a case", tag="cases", body=CaseReportSchema, response=CaseCreatedSchema, status=201,
           errors=(403, 429), idempotent=True,
           description="Intake from any channel: the case starts its process at once. "
           "The answer's Location header is the case's URL. At most RATE_LIMIT_API cases per client "
           "address (a 429 with Retry-After beyond it). With an Idempotency-Key, a repeat of the same "
           "report answers the first case (200, header Idempotent-Replayed: true; the tracking link's "
           "secret is shown only in the first answer).")
@rate_limited("API", lambda retry: problem(429, "too_many_requests",
                                           f"Too many cases from this address; try again in {retry} s."))
def report_case(body, idempotency_key):
    session = get_session()
    case, replayed = report_once(session, runtime(), g.user, body, idempotency_key, case_service.report_case)
    session.commit()
    if getattr(case, "tracking_secret", None):  # a resident report: the reporter's private page
        case.tracking_url = url_for("track.reporter_page", code=case.code, secret=case.tracking_secret,
                                    _external=True)
        case.sms_text = public_text(runtime().settings).sms_text(case.code, case.tracking_url)
    headers = {"Location": f"/api/v1/cases/{case.code}", **case_etag(case)}
    if replayed:
        response = jsonify(CaseCreatedSchema().dump(case))
        response.headers.update({**headers, "Idempotent-Replayed": "true"})
        return response
    return case, headers


@bp.get("/cases")
@operation("Search cases", tag="cases", query=CaseSearchArgs, response=CasePageSchema,
           description="Cases you may see (your org units' and your departments'), newest first. Page with "
           "cursor (each answer's next_cursor); offset still works. updated_since follows changes.")
def search(args):
    session = get_session()
    rt = runtime()
    page_args = {k: args.pop(k) for k in ("limit", "offset", "cursor") if k in args}
    page = search_cases(session, rt, g.user, CaseFilter.parse(args), now=rt.clock(), **page_args)
    return page


@bp.get("/cases/<code>")
@operation("Read a case", tag="cases", response=CaseSchema, errors=CASE_ERRORS, etag=True,
           description="Stage, status, department, due times, SLA flags, open tasks, timeline and 督办. "
           "A case outside your scope is 404, as if it did not exist.")
def get_case(code: str):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    return CaseResource(session, case), case_etag(case)


@bp.get("/cases/<code>/timeline")
@operation("Read a case's timeline", tag="cases", response=EventListSchema, errors=CASE_ERRORS)
def get_timeline(code: str):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    return {"items": case_service.timeline(session, case)}


@bp.get("/cases/<code>/attachments")
@operation("List a case's photos", tag="cases", response=AttachmentListSchema, errors=CASE_ERRORS)
def list_attachments(code: str):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    return {"items": attachment_service.list_attachments(session, case)}


@bp.post("/cases/<code>/attachments")
@operation("Attach a photo", tag="cases", multipart=AttachmentUploadSchema, response=AttachmentSchema, status=201,
           errors=(404, 413), description="multipart/form-data with the photo in `file`; JPEG, PNG or WebP, "
           "checked by content.")
def upload_attachment(code: str):
    session = get_session()
    rt = runtime()
    limit = int(rt.settings.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    if (request.content_length or 0) > limit + 64 * 1024:
        raise TooLarge({"file": [f"The upload is larger than the limit of {limit / 1048576:.0f} MB."]},
                       "The request body is too large.")
    case = case_service.get_case(session, g.user, code)
    if request.mimetype != "multipart/form-data":
        raise MalformedBody({"_body": ["Send the photo as multipart/form-data with a part named 'file'."]},
                            "The request body is not multipart/form-data.")
    form = load(AttachmentUploadSchema(partial=("file",)), request.form)
    unknown = sorted(set(request.files) - {"file"})
    if unknown:
        raise InputError({name: ["Unknown field."] for name in unknown})
    upload = request.files.get("file")
    if upload is None:
        raise InputError({"file": ["Missing data for required field."]})
    task = task_of_case(session, g.user, case, form.get("task_id"))
    data = upload.stream.read(limit + 1)
    attachment = attachment_service.add_attachment(session, rt, g.user, case, upload.filename or "", data,
                                                   task=task, field="file")
    session.commit()
    return attachment, {"Location": f"/api/v1/cases/{case.code}/attachments/{attachment.id}"}


def _send(code: str, attachment_id: int, thumbnail: bool):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    stored = attachment_service.attachment_file(session, runtime(), case, attachment_id, thumbnail=thumbnail)
    return send_file(stored.path, mimetype=stored.content_type, download_name=stored.filename, max_age=3600)


@bp.get("/cases/<code>/attachments/<int:attachment_id>")
@operation("Download a photo", tag="cases", media=IMAGE_TYPES, errors=CASE_ERRORS)
def download_attachment(code: str, attachment_id: int):
    return _send(code, attachment_id, thumbnail=False)


@bp.get("/cases/<code>/attachments/<int:attachment_id>/thumbnail")
@operation("Download a photo's thumbnail", tag="cases", media=("image/jpeg",), errors=CASE_ERRORS,
           description="A JPEG at most 320×320 pixels.")
def download_thumbnail(code: str, attachment_id: int):
    return _send(code, attachment_id, thumbnail=True)


@bp.get("/cases/<code>/comments")
@operation("List a case's internal comments", tag="cases", response=CommentListSchema, errors=CASE_ERRORS)
def list_comments(code: str):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    return {"items": comment_service.list_comments(session, case)}


@bp.post("/cases/<code>/comments")
@operation("Comment on a case", tag="cases", body=CommentArgs, response=CommentSchema, status=201,
           errors=CASE_ERRORS, description="Internal remarks for staff; never shown on public tracking.")
def add_comment(code: str, body):
    session = get_session()
    case = case_service.get_case(session, g.user, code)
    task = task_of_case(session, g.user, case, body.get("task_id"))
    comment = comment_service.add_comment(session, runtime(), g.user, case, body["body"], task=task)
    session.commit()
    return comment
