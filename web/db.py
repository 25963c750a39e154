"""Database wiring for the app: one engine per app, one session per request."""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from engine.assembly import open_database


def init_app(app: Flask) -> None:
    engine, factory = open_database(app.config["DATABASE_URL"])
    app.extensions["gridflow.db"] = engine
    app.extensions["gridflow.sessions"] = factory
    app.teardown_appcontext(_close_session)


def runtime():
    """The app's engine runtime (settings, clock, calendar, process cache)."""
    return current_app.extensions["gridflow.runtime"]


def get_session() -> Session:
    """Return this request's session; the view commits once, teardown closes it."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["gridflow.sessions"]()
    return g.db_session


def _close_session(_exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()
