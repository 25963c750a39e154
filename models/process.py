"""Deployed process versions: stored once, shared by every case that runs on them; and the
designers' drafts of the next version, edited in the studio until they are deployed."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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
