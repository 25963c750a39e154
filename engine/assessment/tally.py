"""Monthly tallies of the assessment facts: every fact added, removed or changed by a step is
added to (or taken from) its month's row for each grouping, in the step's transaction, so that a
year's ranking reads a few thousand rows instead of every fact of the year.

Rows are upserted in a fixed order (sorted by their key), so two steps that touch the same rows
lock them in the same order and cannot deadlock each other."""
from __future__ import annotations

from datetime import date, tzinfo

from sqlalchemy.dialects import postgresql, sqlite

from models import AssessmentTally

from engine.process.assessment import GROUPINGS

T = AssessmentTally.__table__
_UNIQUE = ["grouping", "month", "key", "kind", "street_path", "department"]
_UPSERTS: dict[str, object] = {}


def street_path(scope_path: str) -> str:
    """The scope path of a grid's street (``…/street/`` of ``…/street/community/grid/``)."""
    parts = [p for p in scope_path.split("/") if p]
    return "/".join(parts[:-2]) + "/" if len(parts) > 2 else scope_path


def month_of(moment, tz: tzinfo) -> date:
    return moment.astimezone(tz).date().replace(day=1)


class Deltas:
    """What a step changes in the tallies: add facts with +1, removed facts with −1."""

    def __init__(self, tz: tzinfo):
        self.tz = tz
        self.acc: dict[tuple, list] = {}

    def add(self, fact: dict, sign: int = 1) -> None:
        month = month_of(fact["at"], self.tz)
        path, department = street_path(fact["scope_path"]), fact["department"] or ""
        value = fact["value"]
        for by in GROUPINGS:
            entry = self.acc.setdefault((by, month, fact[by] or "", fact["kind"], path, department), [0, 0.0, 0])
            entry[0] += sign
            entry[1] += sign * (value or 0.0)
            entry[2] += sign * (value is not None)

    def remove(self, fact: dict) -> None:
        self.add(fact, -1)

    def apply(self, conn) -> None:
        rows = [dict(zip(_UNIQUE, key), n=n, total=total, valued=valued)
                for key, (n, total, valued) in sorted(self.acc.items()) if n or total or valued]
        if rows:
            conn.execute(_upsert(conn.dialect.name), rows)
        self.acc.clear()


def _upsert(dialect: str):
    statement = _UPSERTS.get(dialect)
    if statement is None:
        make = postgresql.insert if dialect == "postgresql" else sqlite.insert
        base = make(T)
        statement = base.on_conflict_do_update(index_elements=_UNIQUE, set_={
            "n": T.c.n + base.excluded.n, "total": T.c.total + base.excluded.total,
            "valued": T.c.valued + base.excluded.valued})
        _UPSERTS[dialect] = statement
    return statement
