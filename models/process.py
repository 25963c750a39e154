"""Deployed process versions: stored once, shared by every case that runs on them; the
designers' drafts of the next version, edited in the studio until they are deployed; the
cases moved between versions, with the state each had before (to undo the move); and the
impact simulations of drafts with what they found per case."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ProcessVersion(Base):
    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Large (the BPMN/DMN texts and the parsed spec): loaded only when asked for.
    source_files: Mapped[dict[str, Any]] = mapped_column(deferred=True)
    serialized_spec: Mapped[str] = mapped_column(Text, deferred=True)
    deployed_at: Mapped[datetime]
    # Who deployed it (a username, or "cli:<os user>" from `gridflow processes deploy`) and why.
    deployed_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class ProcessDraft(Base):
    """A designer's working copy of a process's files, based on one deployed version."""

    __tablename__ = "process_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    base_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    files: Mapped[dict[str, Any]] = mapped_column(deferred=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    saved_at: Mapped[datetime]
    # Set once the draft became a version; a deployed draft is kept as the record of its edit.
    deployed_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_version.id"))


class CaseMigration(Base):
    """One case moved from one process version to another by a migration run (``run``)."""

    __tablename__ = "case_migration"

    id: Mapped[int] = mapped_column(primary_key=True)
    run: Mapped[str] = mapped_column(String(40), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    # The instance state before the move, and the case's version counter just after it: an
    # undo restores the state only while the counter shows no step was taken since.
    old_state: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    moved_case_version: Mapped[int]
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(index=True)
    undone_at: Mapped[datetime | None]


class SimulationRun(Base):
    """One impact simulation of a draft (or a folder) over the cases of a period, kept so that every
    figure on its page opens the cases behind it; the newest SIMULATION_KEEP_RUNS are kept."""

    __tablename__ = "simulation_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("process_draft.id", ondelete="SET NULL"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))  # what new cases start on then
    days: Mapped[int]
    since: Mapped[datetime]
    until: Mapped[datetime]
    made_by: Mapped[str] = mapped_column(String(100))
    made_at: Mapped[datetime] = mapped_column(index=True)
    summary: Mapped[dict[str, Any]]


class SimulationCase(Base):
    """What a simulation found for one case: its routing now and in the draft, the decisions that
    change, where its flow parts or stops, the deadlines that move and a closing that turns."""

    __tablename__ = "simulation_case"

    run_id: Mapped[int] = mapped_column(ForeignKey("simulation_run.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), primary_key=True)
    dispatched: Mapped[bool]
    route_from: Mapped[str | None] = mapped_column(String(60))
    route_to: Mapped[str | None] = mapped_column(String(60))
    decisions: Mapped[str] = mapped_column(String(500), default="")        # ",routing,sla_lookup,"
    flow: Mapped[str] = mapped_column(String(16))
    flow_element: Mapped[str | None] = mapped_column(String(100))
    flow_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    deadlines: Mapped[list | None] = mapped_column(JSON)                    # [task, visit, old, new]
    deadline_marks: Mapped[str] = mapped_column(String(1000), default="")  # ",handle:earlier,"
    closing: Mapped[str | None] = mapped_column(String(20))
