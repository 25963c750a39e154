"""Opening the database a process works on: one SQLAlchemy engine and session factory per URL."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from models import make_engine, make_session_factory


def open_database(url: str) -> tuple[Engine, sessionmaker]:
    """Return (engine, session factory) for a URL, creating a SQLite file's folder."""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    return engine, make_session_factory(engine)
