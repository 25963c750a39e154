"""Assessment facts: what each step of a case counts for, kept in the step's own transaction so
that figures for any period are read from these rows and never from the event log."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class AssessmentFact(Base):
    """One counted occurrence for one case (filed, closed, a late task ...), dated and attributed.

    ``at`` is when it counts (a case due to close counts at its deadline); the unit columns
    are the case's place, category and source; ``department`` and ``person`` are whom it is
    attributed to (a late task's holder, the person who did the step)."""

    __tablename__ = "assessment_fact"
    __table_args__ = (
        Index("ix_assessment_fact_case_kind", "case_id", "kind"),
        # A period's figures are a range of ``at``; the other columns make it an index-only read.
        Index("ix_assessment_fact_at", "at", "kind", "scope_path", "street", "community", "grid", "department",
              "person", "category", "major", "source", "value"),
        # One kind over a period: the cases behind a figure, a breakdown by detail (注销 by reason).
        Index("ix_assessment_fact_kind_at", "kind", "at", "detail"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    scope_path: Mapped[str] = mapped_column(String(255))
    street: Mapped[str | None] = mapped_column(String(32))
    community: Mapped[str | None] = mapped_column(String(32))
    grid: Mapped[str | None] = mapped_column(String(32))
    department: Mapped[str | None] = mapped_column(String(20))
    person: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16))
    major: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))
    # Whose work a late task was (stages.toml ``owner``), and its task.
    owner: Mapped[str | None] = mapped_column(String(16))
    task_bpmn_id: Mapped[str | None] = mapped_column(String(100))
    # 1/0 on time for a task completion, working hours for a late task, the weight of a rating.
    value: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str | None] = mapped_column(String(64))


class AssessmentTally(Base):
    """A month's facts added up by one grouping (``grouping``, its ``key``), kind, street and department,
    kept with the facts in each step's transaction so that whole months (a year's ranking) are read
    from a few rows. ``street_path`` and ``department`` keep the rows within the reader's scope;
    empty strings stand for none."""

    __tablename__ = "assessment_tally"
    __table_args__ = (
        UniqueConstraint("grouping", "month", "key", "kind", "street_path", "department", name="assessment_tally_cell_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grouping: Mapped[str] = mapped_column(String(12))
    month: Mapped[date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    street_path: Mapped[str] = mapped_column(String(255))
    department: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    valued: Mapped[int] = mapped_column(Integer)
