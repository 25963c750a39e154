"""Internal comments on a case: staff remarks, audited, never shown on public tracking."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models import Case, Comment, Task, User

from engine.errors import InputError, Message
from engine.runtime import Runtime
from engine.lifecycle.chain import append_event

MAX_COMMENT = 2000


def add_comment(session: Session, rt: Runtime, user: User, case: Case, body, task: Task | None = None) -> Comment:
    """Add a comment to a case the caller has already found visible to ``user``."""
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        raise InputError({"body": [Message("Write something; a comment must not be blank.")]})
    if len(text) > MAX_COMMENT:
        raise InputError({"body": [Message("At most {max} characters (this one has {count}).", max=MAX_COMMENT, count=len(text))]})
    if "\x00" in text:
        raise InputError({"body": [Message("Must not contain NUL characters.")]})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError({"body": [Message("Must be valid Unicode text.")]}) from None
    now = rt.clock()
    comment = Comment(case_id=case.id, task_id=task.id if task else None, author_id=user.id, body=text, created_at=now)
    session.add(comment)
    session.flush()
    append_event(session, case.id, at=now, actor_id=user.id, kind="commented",
                 task_bpmn_id=task.bpmn_id if task else None, task_name=task.name if task else None,
                 from_stage=case.stage, to_stage=case.stage, data={"comment_id": comment.id})
    return comment


def list_comments(session: Session, case: Case) -> list[Comment]:
    return list(session.scalars(select(Comment).where(Comment.case_id == case.id)
                                .options(joinedload(Comment.author)).order_by(Comment.created_at, Comment.id)))
