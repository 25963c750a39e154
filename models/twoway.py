"""Two-way assessment (下对上): communities rate the units that handled their cases, and score
departments on a round's items."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.org import OrgUnit, User


class UnitRating(Base):
    """A community's rating of the unit that handled one closing of its case."""

    __tablename__ = "unit_rating"
    __table_args__ = (Index("ix_unit_rating_department_at", "department_code", "rated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    # The handling unit: a department's code (None when a grid or community handled it itself).
    department_code: Mapped[str | None] = mapped_column(String(20))
    community_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    community_path: Mapped[str] = mapped_column(String(255), index=True)
    rating: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    rated_at: Mapped[datetime]


class RatingRound(Base):
    """A round of scoring (e.g. a quarter): its period and the items as configured when it opened."""

    __tablename__ = "rating_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # [{"key", "zh", "en", "weight", "max"}] copied from processes/assessment.toml [rounds].
    items: Mapped[list] = mapped_column()
    # The org unit (district or street) whose communities score in it.
    scope_path: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, closed
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    opened_by: Mapped[User | None] = relationship()


class RoundScore(Base):
    """One community's scores of one department in a round (one row per community and department)."""

    __tablename__ = "round_score"
    __table_args__ = (UniqueConstraint("round_id", "community_id", "department_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rating_round.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    department_code: Mapped[str] = mapped_column(String(20), index=True)
    # item key → points given (0 … the item's max).
    scores: Mapped[dict[str, Any]] = mapped_column()
    # Weighted total on a 0–100 scale: Σ weight × points ÷ max, over Σ weight.
    total: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime]

    community: Mapped[OrgUnit] = relationship()
