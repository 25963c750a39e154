"""What residents and Open311 clients hold: secret tracking links, ratings, Open311 API keys and
request receipts, and the per-address request counters of the rate limiter."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class TrackingLink(Base):
    """The reporter's secret link to a resident-reported case; only the secret's SHA-256 is stored."""

    __tablename__ = "tracking_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class Rating(Base):
    """A satisfaction rating of a case (满意 / 基本满意 / 不满意) with its source: ``resident`` (the
    reporter's own, through the tracking link) or the BPMN id of the staff task that recorded it
    (the clerk's phone callback, ``callback``). engine/lifecycle/satisfaction.py reconciles them."""

    __tablename__ = "rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), index=True)
    satisfaction: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(32), default="resident")
    created_at: Mapped[datetime]


class Open311Client(Base):
    """An Open311 client (a resident app) with its API key; only the key's SHA-256 is stored."""

    __tablename__ = "open311_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Open311Request(Base):
    """What an Open311 POST brought beyond the case itself: the client, its receipt token,
    media URL, attribute answers and contact fields (never shown publicly)."""

    __tablename__ = "open311_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("grid_case.id", ondelete="CASCADE"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("open311_client.id"), index=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    media_url: Mapped[str] = mapped_column(String(1000), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    device_id: Mapped[str] = mapped_column(String(100), default="")
    account_id: Mapped[str] = mapped_column(String(100), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class RateLimitWindow(Base):
    """Requests counted for one client address and bucket in one fixed time window."""

    __tablename__ = "rate_limit_window"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(index=True)
