"""Schema migrations: they build the models' schema, and keep the data of a database made before them."""
from __future__ import annotations

import gzip
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, text

from cli.main import main
from models import Base, Case, CaseEvent, Task, create_schema, make_engine, make_session_factory, migrate

# Made with `gridflow init --demo` and `demo generate --cases 30 --seed 12` at main d221e81, the last
# commit before migrations: `sqlite3 .dump` and `pg_dump --inserts` (its psql-only \restrict lines cut).
FIXTURES = Path(__file__).parent / "fixtures"
HISTORY = ("grid_case", "task", "case_event")


@pytest.fixture
def empty_engine(database_url):
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    yield engine
    engine.dispose()


@pytest.fixture
def old_engine(empty_engine, database_url):
    """The database of main d221e81 with its demo city and 30 generated cases."""
    name = "postgresql" if empty_engine.dialect.name == "postgresql" else "sqlite"
    dump = gzip.decompress((FIXTURES / f"d221e81-{name}.sql.gz").read_bytes()).decode("utf-8")
    if name == "sqlite":
        with sqlite3.connect(empty_engine.url.database) as conn:
            conn.executescript(dump)
        return empty_engine
    raw = empty_engine.raw_connection()
    try:
        raw.cursor().execute(dump)
        raw.commit()
    finally:
        raw.close()
    empty_engine.dispose()  # the dump emptied the session's search_path
    return empty_engine


@pytest.fixture
def cli(database_url, monkeypatch):
    monkeypatch.setenv("GRIDFLOW_DATABASE_URL", database_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def differences(engine):
    """What autogenerate would change to make the database match the models (`alembic check`)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": migrate.include_name, "compare_type": True})
        return compare_metadata(context, Base.metadata)


def rows(engine, columns=None):
    """Every row of the history tables; with ``columns`` (table → names) only those columns, so
    rows upgraded by later revisions compare with what the old database held."""
    with engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(text(
                    f"SELECT {', '.join(columns[t]) if columns else '*'} FROM {t} ORDER BY id"))]
                for t in HISTORY}


def column_names(engine):
    with engine.connect() as conn:
        return {t: list(conn.execute(text(f"SELECT * FROM {t} WHERE 1 = 0")).keys()) for t in HISTORY}


def test_the_migrations_build_exactly_the_models_schema(empty_engine):
    assert migrate.schema_status(empty_engine) == "empty"
    result = migrate.upgrade(empty_engine)
    assert result.before is None and result.after == migrate.head() and not result.stamped
    assert differences(empty_engine) == []
    assert migrate.schema_status(empty_engine) == "current"
    assert migrate.upgrade(empty_engine).applied == []


def test_upgrading_a_d221e81_database_keeps_every_case_task_and_event(old_engine, cli):
    old_columns = column_names(old_engine)
    before = rows(old_engine, old_columns)
    assert [len(before[t]) for t in HISTORY] == [30, 194, 246]
    assert cli("db", "check").exit_code == 1
    assert "predates schema migrations" in cli("serve").output

    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "recorded the database as at 0001" in result.output
    assert f"now at revision {migrate.head()}" in result.output
    assert rows(old_engine, old_columns) == before
    checked = cli("db", "check")
    assert checked.exit_code == 0 and checked.output.startswith("current")

    with make_session_factory(old_engine)() as session:
        assert len(session.scalars(select(Case)).all()) == 30
        assert session.scalar(select(CaseEvent).order_by(CaseEvent.at)).at.tzinfo is not None
        assert {t.status for t in session.scalars(select(Task))} >= {"open", "completed"}
    drift = differences(old_engine)
    if old_engine.dialect.name == "postgresql":
        assert drift == []  # the naming convention gives PostgreSQL's own names
    else:
        # create_all left SQLite's unique constraints unnamed; SQLite never needs their names.
        assert drift and all(op == "add_constraint" and c.name.endswith("_key") for op, c in drift)


def test_upgrading_chains_the_existing_events_so_that_verify_passes_and_then_catches_an_edit(old_engine, cli):
    assert cli("db", "upgrade").exit_code == 0
    with make_session_factory(old_engine)() as session:
        counts = dict(session.execute(select(CaseEvent.case_id, func.count()).group_by(CaseEvent.case_id)).all())
        assert {c.id: c.event_seq for c in session.scalars(select(Case))} == {i: counts.get(i, 0) for i in range(1, 31)}
        last_id = session.scalar(select(func.max(CaseEvent.id)))  # the PostgreSQL dump's ids have gaps
        victim = session.scalars(select(CaseEvent).where(CaseEvent.kind == "task_completed").order_by(CaseEvent.id)
                                 .offset(7)).first()
    verified = cli("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith(f"check 1: 246 event(s) checked, the trail is intact up to event #{last_id} ")
    with old_engine.begin() as conn:
        conn.execute(text("UPDATE case_event SET task_name = task_name || '（改）' WHERE id = :id"), {"id": victim.id})
    broken = cli("audit", "verify", "--from", "1")
    assert broken.exit_code == 0  # --from 1 walks only what came after check 1: the edit is before it
    broken = cli("audit", "verify")
    assert broken.exit_code == 1
    assert f"event #{victim.id} " in broken.output and "was changed" in broken.output
    assert f"the first is event #{victim.id}" in broken.output


def test_upgrade_refuses_an_old_database_whose_tables_differ(empty_engine, cli):
    create_schema(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("ALTER TABLE grid_case ADD COLUMN priority INTEGER"))
    result = cli("db", "upgrade")
    assert result.exit_code == 1
    assert "grid_case.priority is not in revision 0001" in result.output and "nothing was changed" in result.output
    assert migrate.schema_status(empty_engine) == "unversioned"


def test_serve_refuses_a_database_migrated_by_newer_code(empty_engine, cli):
    assert cli("init").exit_code == 0
    assert cli("db", "current").output.startswith("current")
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    assert migrate.schema_status(empty_engine) == "ahead"
    served = cli("serve")
    assert served.exit_code == 1 and "0999" in served.output and "does not know" in served.output
    assert cli("db", "upgrade").exit_code == 1


# Changing a column's type is an ALTER on PostgreSQL; on SQLite batch mode copies grid_case to a new
# table and drops the old one, which every case's tasks and events refer to.
REBUILD = '''"""Widen grid_case.address."""
import sqlalchemy as sa
from alembic import op

revision = "{next}"
down_revision = "{head}"


def upgrade():
    with op.batch_alter_table("grid_case") as batch:
        batch.alter_column("address", type_=sa.String(300), existing_type=sa.String(255), existing_nullable=False)
'''


NEXT = "9999"


def add_revision(source: str, tmp_path, monkeypatch) -> None:
    """Make the code's migrations those of the repository plus SOURCE as the next revision."""
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrate.head()
    source = source.replace("{head}", head).replace("{next}", NEXT)
    (scripts / "versions" / f"{NEXT}_next.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(migrate, "MIGRATIONS", scripts)


def address_length(engine) -> int:
    with engine.connect() as conn:
        return next(c["type"].length for c in inspect(conn).get_columns("grid_case") if c["name"] == "address")


def test_a_later_revision_that_rebuilds_a_table_keeps_the_rows_that_refer_to_it(old_engine, tmp_path, monkeypatch):
    add_revision(REBUILD, tmp_path, monkeypatch)
    old_columns = column_names(old_engine)
    before = rows(old_engine, old_columns)
    result = migrate.upgrade(old_engine)
    assert result.stamped and result.applied[-1] == f"{NEXT} Widen grid_case.address."
    assert address_length(old_engine) == 300
    assert rows(old_engine, old_columns) == before
    with old_engine.begin() as conn:  # the rows still refer to their case, and its cascade still holds
        conn.execute(text("DELETE FROM grid_case"))
        assert conn.execute(text("SELECT count(*) FROM task")).scalar() == 0


def test_a_revision_that_fails_halfway_changes_nothing(old_engine, tmp_path, monkeypatch):
    add_revision(REBUILD + '    raise RuntimeError("halfway")\n', tmp_path, monkeypatch)
    with pytest.raises(RuntimeError, match="halfway"):
        migrate.upgrade(old_engine)
    assert migrate.schema_status(old_engine) == "unversioned"  # not even stamped
    assert address_length(old_engine) == 255 and len(rows(old_engine)["grid_case"]) == 30


def test_an_upgraded_database_gets_the_assessment_facts_of_its_old_cases_from_their_history(old_engine, cli):
    from models import AssessmentFact, AssessmentTally
    result = cli("db", "upgrade")
    assert "30 case(s) have no assessment facts" in result.output and "gridflow assessment rebuild" in result.output
    rebuilt = cli("assessment", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.output.splitlines()[-1].startswith('{"cases": 30, "facts": ')
    with make_session_factory(old_engine)() as session:
        kinds = dict(session.execute(select(AssessmentFact.kind, func.count()).group_by(AssessmentFact.kind)).all())
        assert kinds["received"] == 30 and kinds["filed"] >= 1 and session.scalar(select(func.count(AssessmentTally.id)))
        filed_events = session.scalar(select(func.count(func.distinct(CaseEvent.case_id)))
                                      .where(CaseEvent.kind == "task_completed", CaseEvent.task_bpmn_id == "accept",
                                             CaseEvent.data["decision"].as_string() == "file"))
        assert kinds["filed"] == filed_events
    assert cli("assessment", "rebuild").output.splitlines()[-1] == '{"cases": 0, "facts": 0}'
    assert "no assessment facts" not in cli("db", "upgrade").output


def test_an_earlier_imports_unused_initial_password_only_chooses_a_password_after_the_upgrade(old_engine):
    import base64
    import hashlib

    from engine.access.initial import NO_PASSWORD, matching_link
    from models import PasswordLink, User

    salt = b"0123456789abcdef"  # what `city import` stored before 0018 for a printed password
    legacy = (f"sha256${base64.b64encode(salt).decode()}$"
              f"{base64.b64encode(hashlib.sha256(salt + b'Printed-9x2K').digest()).decode()}")
    with old_engine.begin() as conn:
        conn.execute(text("UPDATE user_account SET password_hash = :h WHERE username = 'grid_dhm_01'"), {"h": legacy})
    migrate.upgrade(old_engine)
    with make_session_factory(old_engine)() as session:
        user = session.scalar(select(User).where(User.username == "grid_dhm_01"))
        assert user.password_hash == NO_PASSWORD  # no fast hash left on the account
        link = session.scalar(select(PasswordLink).where(PasswordLink.user_id == user.id))
        assert link.secret_hash == legacy and link.used_at is None
        now = link.created_at
        assert matching_link(session, user, "Printed-9x2K", now) is link
        assert matching_link(session, user, "printed-9x2k", now) is None  # the old password, exactly
        assert matching_link(session, user, "Printed-9x2K", now + timedelta(days=31)) is None
        other = session.scalar(select(User).where(User.username == "clerk_dhm"))
        assert other.password_hash.startswith("scrypt$")  # a chosen password stays
