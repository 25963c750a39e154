"""Deployed process versions: stored once, shared by every case that runs on them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, UniqueConstraint
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
