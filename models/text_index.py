"""The index behind case search by words: a trigram index over each case's address and
description, so that a substring of Chinese text (which has no spaces between words) is found
without reading every case.

SQLite: an FTS5 table with the trigram tokenizer over grid_case (external content), kept in step by
triggers in the same transaction as every insert, delete and change of those two columns.
PostgreSQL: pg_trgm GIN indexes on the two columns themselves, which the database keeps in step.
Both need at least three characters to look anything up; engine/queries/search.py says what
shorter queries do. The tables and indexes here are not models, so Alembic's comparison leaves
them out (``is_text_index``); migration 0008 creates them on existing databases.
"""
from __future__ import annotations

from sqlalchemy import Connection, event, text

TABLE = "case_text"
INDEX_PREFIX = "ix_case_text_"
# SQLite keeps an FTS5 table's data in shadow tables named after it.
_SHADOWS = ("case_text", "case_text_data", "case_text_idx", "case_text_docsize", "case_text_config",
            "case_text_content")

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE case_text USING fts5(address, description, content='grid_case', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER case_text_insert AFTER INSERT ON grid_case BEGIN "
    "INSERT INTO case_text(rowid, address, description) VALUES (new.id, new.address, new.description); END",
    "CREATE TRIGGER case_text_delete AFTER DELETE ON grid_case BEGIN "
    "INSERT INTO case_text(case_text, rowid, address, description) "
    "VALUES ('delete', old.id, old.address, old.description); END",
    # Only a change of the words re-indexes them: steps rewrite the state, not these.
    "CREATE TRIGGER case_text_update AFTER UPDATE OF address, description ON grid_case BEGIN "
    "INSERT INTO case_text(case_text, rowid, address, description) "
    "VALUES ('delete', old.id, old.address, old.description); "
    "INSERT INTO case_text(rowid, address, description) VALUES (new.id, new.address, new.description); END",
    "INSERT INTO case_text(case_text) VALUES ('rebuild')",
)
SQLITE_DROP = ("DROP TRIGGER IF EXISTS case_text_insert", "DROP TRIGGER IF EXISTS case_text_delete",
               "DROP TRIGGER IF EXISTS case_text_update", "DROP TABLE IF EXISTS case_text")
POSTGRESQL_CREATE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_case_text_address ON grid_case USING gin (address gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_case_text_description ON grid_case USING gin (description gin_trgm_ops)",
)
POSTGRESQL_DROP = ("DROP INDEX IF EXISTS ix_case_text_address", "DROP INDEX IF EXISTS ix_case_text_description")


def statements(dialect: str, *, drop: bool = False) -> tuple[str, ...]:
    """The DDL that creates (or drops) the text index on ``dialect``."""
    if dialect == "sqlite":
        return SQLITE_DROP if drop else SQLITE_CREATE
    if dialect == "postgresql":
        return POSTGRESQL_DROP if drop else POSTGRESQL_CREATE
    return ()


def create_text_index(connection: Connection) -> None:
    for statement in statements(connection.dialect.name):
        connection.execute(text(statement))


def drop_text_index(connection: Connection) -> None:
    for statement in statements(connection.dialect.name, drop=True):
        connection.execute(text(statement))


def is_text_index(name: str | None, type_: str) -> bool:
    """True for the tables and indexes of this module, which the models do not declare."""
    if not name:
        return False
    return (type_ == "table" and name in _SHADOWS) or (type_ == "index" and name.startswith(INDEX_PREFIX))


def attach(table) -> None:
    """Create the text index with ``table`` (create_all, as the tests do) and drop it before it."""
    event.listen(table, "after_create", lambda target, connection, **kw: create_text_index(connection))
    event.listen(table, "before_drop", lambda target, connection, **kw: drop_text_index(connection))
