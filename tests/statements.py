"""Count the SQL a block of code runs (SQLAlchemy's cursor events)."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def statements(engine):
    """Collect the SQL statements run on ``engine`` while the block runs."""
    seen: list[str] = []
    listener = lambda conn, cursor, statement, *args: seen.append(statement)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)
