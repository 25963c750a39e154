"""App-factory fixtures: a test client over the demo database and API tokens for demo users."""
from __future__ import annotations

import pytest

from engine.access.accounts import issue_token
from web import create_app


@pytest.fixture
def app(demo_db, database_url):
    return create_app({"DATABASE_URL": database_url, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(app, demo_db):
    """Return a function that issues a bearer header for a demo user."""
    rt = app.extensions["gridflow.runtime"]

    def make(username: str) -> dict:
        with demo_db() as session:
            value = issue_token(session, rt, username, "test")
            session.commit()
        return {"Authorization": f"Bearer {value}"}
    return make


@pytest.fixture
def client_for(app):
    """Return a function that signs a demo user in and gives their test client (``.csrf`` set)."""
    from tests.web.pages import sign_in

    def make(username):
        c = app.test_client()
        c.csrf = sign_in(c, username)
        return c
    return make
