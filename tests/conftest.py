"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL by URL), the demo city."""
from __future__ import annotations

import os
import secrets

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import text

from engine.process import deploy as process_service
from demo.loader import load_demo_city
from engine.assembly import make_runtime
from engine.settings import load_settings
from cli.main import main as gridflow
from models import create_schema, drop_schema, make_engine, make_session_factory

from tests.timekeeping import WEDNESDAY_10

PG_URL = os.environ.get("GRIDFLOW_TEST_DATABASE_URL")
# Apps refuse the published SECRET_KEY outside demo mode; every app a test builds (and every
# `gridflow` subprocess it starts) signs with this one instead.
os.environ.setdefault("GRIDFLOW_SECRET_KEY", "test-" + secrets.token_urlsafe(32))


@pytest.fixture
def clock():
    """Time frozen at Wednesday 2026-11-25 10:00 in the city; move it with ``clock.move_to``."""
    with time_machine.travel(WEDNESDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def database_url(tmp_path):
    return PG_URL or f"sqlite:///{tmp_path}/gridflow.db"


@pytest.fixture
def db_engine(database_url):
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url):
    return load_settings({"DATABASE_URL": database_url})


@pytest.fixture
def sessions(db_engine):
    return make_session_factory(db_engine)


@pytest.fixture
def demo_db(sessions, settings):
    """Load the demo city and deploy processes/ into the fresh database."""
    rt = make_runtime(settings)
    with sessions() as session:
        load_demo_city(session, settings["GRID_CODE_LENGTH"])
        files = process_service.read_files([settings["PROCESSES_DIR"]])
        process_service.deploy(session, rt, files, settings["CASE_PROCESS"])
        session.commit()
    return sessions




@pytest.fixture
def run_gridflow(database_url, db_engine, monkeypatch):
    """Return a function that runs the `gridflow` command on the (emptied) test database."""
    monkeypatch.setenv("GRIDFLOW_DATABASE_URL", database_url)
    if db_engine.dialect.name == "postgresql":
        with db_engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        drop_schema(db_engine)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(gridflow, list(args), catch_exceptions=False)
    return invoke
