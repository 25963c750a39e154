"""Org tree, departments, category catalogue, users, role memberships and API tokens."""
from __future__ import annotations

from datetime import datetime

import uuid
from itertools import chain

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint, event, insert, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base

ORG_LEVELS = ("city", "district", "street", "community", "grid")
ROLES = ("grid_worker", "acceptance_clerk", "shift_leader", "dispatcher",
         "department_handler", "supervisor", "process_designer", "admin")


class OrgUnit(Base):
    """A node of the city → district → street → community → grid tree."""

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    # Scope key: codes from the city down, each followed by '/'. Prefix match = subtree.
    path: Mapped[str] = mapped_column(String(255), index=True)
    area_type: Mapped[str] = mapped_column(String(16), default="core")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    bbox: Mapped[list | None] = mapped_column()
    # The boundary as a GeoJSON geometry (WGS-84) when the city's files give one; bbox and
    # lat/lng are derived from it so that point placement by bounding box keeps working.
    geometry: Mapped[dict | None] = mapped_column()
    # A unit the city's files no longer list is deactivated, never deleted: cases point at it.
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id])


class CityStamp(Base):
    """One row whose ``stamp`` changes whenever an org unit is written (any process, any path).

    Processes that keep the grids in memory (point placement) compare it with the stamp they
    loaded and reload on a difference. A random token rather than a counter, so that two
    databases (test runs, a restored backup) never share a value for different grids.
    """

    __tablename__ = "city_stamp"

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))


@event.listens_for(Session, "before_flush")
def _note_org_unit_writes(session, _context, _instances) -> None:
    # Only a net change counts: an import that finds nothing new sets attributes to what they were.
    if any(isinstance(o, OrgUnit) for o in chain(session.new, session.deleted)) or any(
            isinstance(o, OrgUnit) and session.is_modified(o) for o in session.dirty):
        session.info["org_units_written"] = True


@event.listens_for(Session, "after_flush")
def _restamp_city(session, _context) -> None:
    if not session.info.pop("org_units_written", False):
        return
    stamp = uuid.uuid4().hex
    connection = session.connection()
    if connection.execute(update(CityStamp).where(CityStamp.id == 1).values(stamp=stamp)).rowcount == 0:
        connection.execute(insert(CityStamp).values(id=1, stamp=stamp))


class Department(Base):
    """A functional department (职能部门) that handles dispatched cases."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[str] = mapped_column(String(16), default="district")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def scope_key(self) -> str:
        return f"dept:{self.code}"


class Category(Base):
    """A 小类 of the event/component catalogue with its default department and clock."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    major_code: Mapped[str] = mapped_column(String(2))
    major_name: Mapped[str] = mapped_column(String(50))
    major_name_en: Mapped[str] = mapped_column(String(80), default="")
    minor_code: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(80), default="")
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    default_department: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="zh")
    # Stamped into each session cookie at sign-in; signing out bumps it, so every cookie
    # issued before (saved copies too) stops opening pages.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", lazy="selectin")


class Membership(Base):
    """A user holds a role in a scope: an org-unit path or ``dept:<code>``."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "role", "scope_key"),
                      Index("ix_membership_role_scope", "role", "scope_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    scope_key: Mapped[str] = mapped_column(String(255))

    user: Mapped[User] = relationship(back_populates="memberships")


class UserSession(Base):
    """A signed-in page session: its cookie carries a secret whose SHA-256 is stored here. Signing
    out deletes this row only; signing out everywhere deletes all of the user's (and bumps the epoch)."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token of a user; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class SavedFilter(Base):
    """An inbox filter a user saved under a name (the query string of the inbox page)."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    query: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
