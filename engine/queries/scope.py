"""Scope filters as index ranges: every row under an org path, read as ``path <= x < next``.

``LIKE 'path%'`` is no index range on PostgreSQL unless the column sorts in byte order, nor on
SQLite once an ESCAPE clause is added; a range comparison is one on both. Case.scope_path is
declared COLLATE "C" on PostgreSQL (migration 0008), so the range is exactly the prefix there too.
"""
from __future__ import annotations

from sqlalchemy import and_


def prefix_end(prefix: str) -> str:
    """The smallest string after every string that starts with ``prefix`` (which is not empty)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def under(column, prefix: str):
    """Rows whose ``column`` starts with ``prefix``, as one index range."""
    if not prefix:
        return column.is_not(None)
    return and_(column >= prefix, column < prefix_end(prefix))
