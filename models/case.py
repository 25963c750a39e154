"""Cases with their instance state, the READY-task projection and the append-only audit log."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (JSON, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models import text_index
from models.base import Base
from models.org import Category, OrgUnit, User


class Case(Base):
    __tablename__ = "grid_case"
    __table_args__ = (
        Index("ix_case_status_stage", "status", "stage"),
        # The supervision board counts open cases by place, due time and flag: this index holds
        # every column it reads, so the wide rows (instance state) are never touched.
        Index("ix_case_board", "status", "scope_path", "due_at", "at_risk", "department_code"),
        # Inbox counts ask which of the user's tasks belong to at-risk cases (a few thousand ids).
        Index("ix_case_at_risk", "at_risk", "status", "id"),
        # The few cases stopped by an incident, for the board and the metrics (never a full scan).
        Index("ix_case_incident", "id", sqlite_where=text("incident IS NOT NULL"),
              postgresql_where=text("incident IS NOT NULL")),
        # Case search pages newest first (a keyset over created_at, id) and integrators poll by
        # updated_since: both walk these instead of sorting every visible case.
        Index("ix_case_newest", "created_at", "id"),
        Index("ix_case_updated", "updated_at", "id"),
        # The open cases (a few percent), by id with what the board asks of the case of an open
        # task: joining tens of thousands of open tasks to their cases then reads this small index,
        # never the wide rows of a million. ``status`` is repeated as a column because SQLite counts
        # a partial index as covering only when it holds every column the query names.
        # The map adds up a period's cases per grid (late ones, ones with a point) from this alone.
        Index("ix_case_map", "created_at", "scope_path", "grid_id", "status", "overdue", "due_at", "lat", "lng"),
        Index("ix_case_open", "id", "scope_path", "at_risk", "due_at", "status",
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # Scope key of the grid (org path), so scope checks are one index range (engine/queries/scope.py).
    # Byte order on PostgreSQL whatever the database's collation, so that the range is the prefix.
    scope_path: Mapped[str] = mapped_column(String(255).with_variant(String(255, collation="C"), "postgresql"),
                                            index=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    reporter_name: Mapped[str] = mapped_column(String(64), default="")
    reporter_phone: Mapped[str] = mapped_column(String(32), default="")
    self_handled: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")
    stage: Mapped[str] = mapped_column(String(32))  # set by the engine from processes/stages.toml
    department_code: Mapped[str | None] = mapped_column(String(20))
    # Due time of each timed stage, as recorded when that stage's task became ready.
    due_times: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    # SLA flags set by the process's timer effects: at risk (warned), overdue (sticky: the
    # case was late at some stage), how far up the hierarchy it was escalated.
    at_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # A due time of an open task was computed for a year without holiday data.
    calendar_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why the sweep could not fire this case's timers (cleared by a retry).
    incident: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("grid_case.id"), index=True)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    # The workflow's state, the widest column: loaded only when a step or the diagram needs it.
    state: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # How many events the case's hash chain holds (the seq of its last event): a removed last
    # event shows as a chain shorter than this. Bumped by the writer that appends, which takes the
    # row's lock, so two writers of one case never fork its chain.
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # UPDATE ... WHERE id = :id AND version = :seen; a lost race raises StaleDataError.
    __mapper_args__ = {"version_id_col": version}

    category: Mapped[Category] = relationship()
    grid: Mapped[OrgUnit] = relationship()
    duplicate_of: Mapped[Case | None] = relationship(remote_side=[id])


class CaseCodeCounter(Base):
    """Daily sequence for public case codes."""

    __tablename__ = "case_code_counter"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Task(Base):
    """A READY user task, projected from the workflow after every step; inboxes read only this."""

    __tablename__ = "task"
    __table_args__ = (
        # Inboxes read open tasks by role and scope (one range: scope_key sorts in byte order on
        # PostgreSQL too), least time left first; the trailing columns let the counts be read from
        # the index alone (``status`` included: see ix_case_open).
        Index("ix_task_open_role_scope_due", "role", "scope_key", "due_at", "assignee_id", "stage", "case_id", "id",
              "status", sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        # The supervision board pages through open tasks of the stages processes/stages.toml puts
        # on it (oldest first), so the index is by stage rather than naming one.
        Index("ix_task_open_stage_created", "stage", "created_at", "id", "case_id", "status",
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        # The board adds up late and at-risk open tasks by stage and scope: read in that order from
        # the index alone.
        Index("ix_task_open_stage_scope_due", "stage", "scope_key", "due_at", "case_id", "status",
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        UniqueConstraint("case_id", "spiff_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    spiff_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32))
    # An org path (or dept:CODE); byte order on PostgreSQL, like Case.scope_path, so that a scope
    # is one index range (engine/queries/scope.py).
    scope_key: Mapped[str] = mapped_column(String(255).with_variant(String(255, collation="C"), "postgresql"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # Separation of duties: the username who must not take this task (the BPMN's ``notBy``).
    not_by: Mapped[str | None] = mapped_column(String(64))
    form_key: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    due_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Case variables the task's ``keep`` property copies here when it opens (the 督办's order
    # facts), for the board and the case page, which never load the workflow.
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Bumped by claim, unclaim and assign; with the case's version it makes the task's ETag.
    version: Mapped[int] = mapped_column(Integer, default=1)

    case: Mapped[Case] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])


class CaseEvent(Base):
    """One transition of a case; append-only and hash-chained per case (engine.lifecycle.chain)."""

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))
    task_bpmn_id: Mapped[str | None] = mapped_column(String(100))
    task_name: Mapped[str | None] = mapped_column(String(200))
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Place in the case's chain (1, 2, …), the previous event's hash ("" for the first) and
    # SHA-256 of that hash and this event's canonical content.
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()


class Notification(Base):
    """An in-app message to one user (warning, overdue, escalation, returned, extension decided)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(500))
    # What a repeated notice is about (an escalation's stage, level and task): a person is told
    # of one topic once, however often the escalation's cycle repeats it. None: always written.
    topic: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event for one webhook receiver: queued with the step that caused it, sent later."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    event: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class Attachment(Base):
    """A photo attached to a case (optionally while working one of its tasks); the file is on disk."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id", ondelete="SET NULL"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Paths relative to the attachments folder under the instance folder.
    path: Mapped[str] = mapped_column(String(300))
    thumbnail_path: Mapped[str | None] = mapped_column(String(300))
    # The stage the case was in when the photo came without a task (a resident's supplement).
    stage: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]

    uploaded_by: Mapped[User | None] = relationship()


class Comment(Base):
    """An internal remark on a case by a member of staff (never shown to the public)."""

    __tablename__ = "case_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id", ondelete="SET NULL"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    author: Mapped[User | None] = relationship()


class IntakeKey(Base):
    """A client's idempotency key for one report: the same key again returns the same case."""

    __tablename__ = "intake_key"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_intake_key_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the report as submitted
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)


text_index.attach(Case.__table__)
