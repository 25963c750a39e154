"""What administrators changed: one row per change to a user, org unit, department or category,
or per city import, with who, when and the values before and after; and the one-time links
they make for users to set their own password."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.org import User


class PasswordLink(Base):
    """A one-time link (or an imported user's initial code) for a user to choose their own password;
    only the secret's SHA-256 is stored (``sha256$salt$digest`` for initial passwords of imports
    before revision 0018)."""

    __tablename__ = "password_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class AdminChange(Base):
    """One administrative change; append-only. ``scope_path`` is the org path the change lies in
    (empty for district-wide records: departments, categories, imports), so that a street's admin
    reads the history of their street only."""

    __tablename__ = "admin_change"
    __table_args__ = (Index("ix_admin_change_target", "target_kind", "target_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(32))
    target_kind: Mapped[str] = mapped_column(String(16))
    target_code: Mapped[str] = mapped_column(String(64))
    scope_path: Mapped[str] = mapped_column(String(255), default="", index=True)
    old: Mapped[dict[str, Any] | None] = mapped_column()
    new: Mapped[dict[str, Any] | None] = mapped_column()

    actor: Mapped[User | None] = relationship()
