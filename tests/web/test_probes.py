"""/healthz and /readyz: what a load balancer polls, answered without counting a single case."""
from __future__ import annotations

from sqlalchemy import text

from models import migrate

from tests.statements import statements
from tests.web.test_api import report


def test_healthz_asks_the_database_nothing(app, client):
    with statements(app.extensions["gridflow.db"]) as seen:
        assert client.get("/healthz").status_code == 200
    assert seen == []


def test_readyz_is_503_until_the_schema_is_at_the_code_revision(app, client, token, db_engine):
    report(client, token("clerk_dhm"))
    not_stamped = client.get("/readyz")  # the tests' schema comes from create_all, with no revision
    assert not_stamped.status_code == 503 and not_stamped.get_json()["schema"] is None
    with db_engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    behind = client.get("/readyz").get_json()
    assert behind["status"] == "not ready" and behind["schema"] == "0001"
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": migrate.head()})
    with statements(app.extensions["gridflow.db"]) as seen:
        ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {
        "status": "ready", "database": "ok", "schema": migrate.head(), "expected_schema": migrate.head(),
        "process": "grid_case v1"}
    assert not any("count(" in s.lower() for s in seen) and not any("grid_case" in s for s in seen)
