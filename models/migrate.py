"""Bring a database's schema to the code's revision with the Alembic scripts in models/migrations."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

from models.base import make_engine
from models.text_index import is_text_index

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The schema create_all made before there were migrations (main d221e81): a database without an
# alembic_version table whose tables match this revision is stamped at it instead of migrated.
BASELINE = "0001"
VERSION_TABLE = "alembic_version"


class SchemaError(Exception):
    """The database's schema cannot be brought to the code's revision as it is."""


@dataclass
class Upgrade:
    before: str | None
    after: str
    stamped: bool = False
    applied: list[str] = field(default_factory=list)


def alembic_config(connection: Connection | None = None) -> Config:
    """Return the Alembic configuration of gridflow's migrations, bound to CONNECTION."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # New revisions are numbered by hand (0002, 0003, ...) and named after their message.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """Return the code's schema revision."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def include_name(name, type_, _parent_names) -> bool:
    """Leave out SQLite's own tables (ANALYZE keeps its statistics in sqlite_stat1) and the text
    index of case search, which is no model (models/text_index.py)."""
    return not ((type_ == "table" and name and name.startswith("sqlite_")) or is_text_index(name, type_))


def _tables(connection: Connection) -> set[str]:
    return {t for t in inspect(connection).get_table_names()
            if not t.startswith("sqlite_") and not is_text_index(t, "table")}


def _revisions(connection: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(connection).get_current_heads()


def schema_status(engine: Engine) -> str:
    """Say whether the database is "current", "behind" or "ahead" of the code, "unversioned" or "empty"."""
    with engine.connect() as connection:
        tables = _tables(connection)
        if VERSION_TABLE not in tables:
            return "unversioned" if tables else "empty"
        revisions = set(_revisions(connection))
    script = ScriptDirectory.from_config(alembic_config())
    if revisions == set(script.get_heads()):
        return "current"
    known = {s.revision for s in script.walk_revisions()}
    return "behind" if revisions <= known else "ahead"


def status_message(engine: Engine) -> str | None:
    """Return why the code cannot serve this database as it is, or None when it can."""
    status = schema_status(engine)
    where = engine.url.render_as_string(hide_password=True)
    with engine.connect() as connection:
        revisions = ", ".join(_revisions(connection)) if status in {"behind", "ahead"} else ""
    return {
        "current": None,
        "empty": f"the database at {where} has no tables; run `gridflow init` first",
        "unversioned": f"the database at {where} predates schema migrations; "
                       "run `gridflow db upgrade` (it keeps the data)",
        "behind": f"the database at {where} is at revision {revisions or 'none'}, older than the code's "
                  f"{head()}; run `gridflow db upgrade`",
        "ahead": f"the database at {where} is at revision {revisions}, which this code does not know "
                 f"(its newest is {head()}); run the newer gridflow that migrated it",
    }[status]


def baseline_differences(connection: Connection) -> list[str]:
    """List how the tables of CONNECTION's database differ from the baseline revision's (names only)."""
    scratch = make_engine("sqlite://")
    with scratch.begin() as scratch_connection:
        command.upgrade(alembic_config(scratch_connection), BASELINE)
        expected = {t: {c["name"] for c in inspect(scratch_connection).get_columns(t)}
                    for t in _tables(scratch_connection) - {VERSION_TABLE}}
    scratch.dispose()
    present = _tables(connection)
    problems = [f"table {t} is missing" for t in sorted(expected.keys() - present)]
    for table in sorted(expected.keys() & present):
        columns = {c["name"] for c in inspect(connection).get_columns(table)}
        problems += [f"column {table}.{c} is missing" for c in sorted(expected[table] - columns)]
        problems += [f"column {table}.{c} is not in revision {BASELINE}" for c in sorted(columns - expected[table])]
    return problems


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in one transaction; on SQLite with foreign keys off, checked before commit."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # Batch mode rebuilds a table by dropping it, which with foreign keys on fails or
            # cascades into the rows that refer to it; the pragma only takes outside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if sqlite:
                    # pysqlite runs DDL outside any transaction unless one was begun explicitly.
                    connection.exec_driver_sql("BEGIN")
                yield connection
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise SchemaError(f"the migration would leave {len(broken)} row(s) referring to rows that "
                                      f"do not exist (first in table {broken[0][0]}); nothing was changed")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(engine: Engine) -> Upgrade:
    """Migrate the database to the code's revision, stamping a pre-migration database at the baseline first."""
    status = schema_status(engine)
    if status == "ahead":
        raise SchemaError(status_message(engine))
    with _migrating(engine) as connection:
        config = alembic_config(connection)
        stamped = status == "unversioned"
        if stamped:
            problems = baseline_differences(connection)
            if problems:
                raise SchemaError(
                    f"the database has no {VERSION_TABLE} table and its tables are not those of revision "
                    f"{BASELINE} (the schema before migrations), so nothing was changed: " + "; ".join(problems))
            command.stamp(config, BASELINE)
        before = _revisions(connection)
        script = ScriptDirectory.from_config(config)
        pending = list(script.iterate_revisions("heads", before[0] if before else "base"))
        command.upgrade(config, "heads")
        after = _revisions(connection)
    return Upgrade(before=before[0] if before else None, after=", ".join(after), stamped=stamped,
                   applied=[f"{s.revision} {s.doc}" for s in reversed(pending)])


def new_revision(message: str) -> str:
    """Write a draft revision of how the models differ from the schema at head; return its path."""
    # Diffed against a scratch database at head, so every engineer's draft is the same whatever
    # their own database holds; it still needs reading (autogenerate misses renames, for one).
    scratch = make_engine("sqlite://")
    with scratch.begin() as connection:
        config = alembic_config(connection)
        command.upgrade(config, "heads")
        script = command.revision(config, message=message, autogenerate=True, rev_id=f"{int(head()) + 1:04d}")
    scratch.dispose()
    return script.path
