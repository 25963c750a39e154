"""Results of checking the case events' hash chains (`gridflow audit verify`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class AuditVerification(Base):
    """One run of the chain check: when, from which earlier run, up to which event, and what it found."""

    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    # The run this one continued from (--from); None when it checked every event.
    from_id: Mapped[int | None] = mapped_column(ForeignKey("audit_verification.id"))
    # Every event with an id up to this one (and written before ``up_to_at``) has been checked by
    # this run or the runs it continued from; the next run may start after it.
    up_to_event_id: Mapped[int] = mapped_column(Integer, default=0)
    up_to_at: Mapped[datetime | None]
    # How many events have an id up to ``up_to_event_id``: fewer later means some were removed.
    events_up_to: Mapped[int] = mapped_column(Integer, default=0)
    events_checked: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[bool] = mapped_column(Boolean)
    first_bad_event_id: Mapped[int | None] = mapped_column(Integer)
    first_bad_case_id: Mapped[int | None] = mapped_column(Integer)
    problem: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    by: Mapped[str] = mapped_column(String(64), default="")
