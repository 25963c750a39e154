"""The plans behind the inbox, the board and the map at a million cases, checked on this database:
each statement the engine runs for them is explained, and a plan that reads the wide case rows
or scans the table (instead of the indexes of migration 0020) fails.

Measured at 1,000,000 generated cases (25,000 open, bench web): the street clerk's inbox counts
went from 112 ms (every open task read through the stage index) to 3 ms on SQLite, the board's
late tasks from 238 ms to 16 ms, the map's counts from 1.2 s to 45 ms (PostgreSQL 433 to 62 ms).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from engine.queries import inbox, map as case_map
from engine.queries.board import supervision_board
from engine.queries.search import CaseFilter

pytestmark = pytest.mark.usefixtures("clock")


@contextmanager
def statements(session):
    """The SQL statements (with their parameters) run inside the block."""
    seen: list[tuple[str, object]] = []
    engine = session.get_bind()

    def record(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# What ANALYZE found in that database (sqlite_stat1: rows, then rows per distinct prefix of the
# index's columns): SQLite's planner sees a district of a million cases, not the test's few.
MILLION = {
    ("grid_case", "ix_case_at_risk"): "1000000 500000 200000 1",
    ("grid_case", "ix_case_board"): "1000000 250000 7353 44 44 43",
    ("grid_case", "ix_case_map"): "1000000 1 1 1 1 1 1 1 1",
    ("grid_case", "ix_case_newest"): "1000000 1 1",
    ("grid_case", "ix_case_open"): "24877 1 1 1 1 1",
    ("grid_case", "ix_case_status_stage"): "1000000 250000 66667",
    ("grid_case", "ix_case_updated"): "1000000 1 1",
    ("grid_case", "ix_grid_case_due_at"): "1000000 44",
    ("grid_case", "ix_grid_case_duplicate_of_id"): "1000000 33",
    ("grid_case", "ix_grid_case_next_timer_at"): "1000000 56",
    ("grid_case", "sqlite_autoindex_grid_case_1"): "1000000 1",
    ("grid_case", "ix_grid_case_grid_id"): "1000000 29412",
    ("grid_case", "ix_grid_case_scope_path"): "1000000 29412",
    ("task", "ix_task_assignee_id"): "7437604 7437604",
    ("task", "ix_task_case_id"): "7437604 8",
    ("task", "ix_task_open_role_scope_due"): "27852 4642 274 2 2 2 1 1 1",
    ("task", "ix_task_open_stage_created"): "27852 2532 1 1 1 1",
    ("task", "ix_task_open_stage_scope_due"): "27852 2532 104 2 1 1",
    ("task", "sqlite_autoindex_task_1"): "7437604 8 1",
}


def as_at_a_million(session) -> None:
    """Give SQLite's planner the statistics of the million-case database (PostgreSQL's plans are
    checked with scans turned off instead)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("ANALYZE")
    conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl IN ('grid_case', 'task')")
    for (table, index), stat in MILLION.items():
        conn.exec_driver_sql("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", (table, index, stat))
    conn.exec_driver_sql("ANALYZE sqlite_schema")  # read the statistics again


def plans(session, seen) -> list[str]:
    """Each statement's plan as one line (PostgreSQL told not to scan: a few rows always would)."""
    conn = session.connection()
    out = []
    if conn.dialect.name == "sqlite":
        for statement, params in seen:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            out.append(" | ".join(str(r[-1]) for r in rows))
        return out
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")  # what a few rows would pick instead
    for statement, params in seen:
        out.append(" | ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", params).all()))
    return out


def plan_naming(found: list[str], *words: str) -> str:
    """The one plan that names every word (a statement the engine must have run)."""
    matching = [p for p in found if all(w in p for w in words)]
    assert matching, f"no plan names {words}: {found}"
    return matching[0]


@pytest.fixture
def busy(driver, clock):
    """Open work in two streets: cases waiting for acceptance, one in handling and late."""
    for _ in range(3):
        driver.report()
        clock.shift(timedelta(minutes=5))
    driver.report(grid_code="110101003001001", username="grid_jdk_01")
    late = driver.report()
    driver.do(late, "accept", "clerk_dhm", decision="file")
    driver.do(late, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    driver.do(late, "sign_for", "handler_hw", sign_decision="sign")
    clock.shift(timedelta(days=3))
    as_at_a_million(driver.session)
    return driver


def test_a_street_inbox_is_one_range_of_its_role_and_scope_read_from_the_index(busy):
    session, clerk = busy.session, busy.user("clerk_dhm")
    with statements(session) as seen:
        page = inbox.inbox_page(session, clerk, now=busy.rt.clock())
        counts = inbox.inbox_counts(session, clerk, now=busy.rt.clock())
    assert page.total == counts["all"] == 3  # the other street's report is not the clerk's
    found = plans(session, seen)
    session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        # A range (not LIKE … ESCAPE, which is none), and the counts from the index alone.
        counted = plan_naming(found, "ix_task_open_role_scope_due")
        assert "COVERING INDEX ix_task_open_role_scope_due (role=? AND scope_key>? AND scope_key<?)" in counted, found
        assert not any("SCAN task" in p for p in found), found
    else:
        # Without a million rows' statistics PostgreSQL may pick either open-task index; what
        # matters is that the scope is a range of it (scope_key in byte order), never a filter.
        scope = re.compile(r"Index Cond: [^|]*scope_key\)?(::text)? >= '110000/110101/110101001/'")
        assert all(scope.search(p) for p in found if " on task" in p), found
        assert not any("Seq Scan" in p for p in found), found


def test_the_board_reads_late_tasks_and_their_cases_from_indexes_of_open_work(busy):
    session, supervisor = busy.session, busy.user("super_district")
    with statements(session) as seen:
        board = supervision_board(session, supervisor, now=busy.rt.clock(), policy=busy.rt.policy,
                                  calendar=busy.rt.calendar)
    assert board.overdue >= 1 and any(r.key == "HW" and r.overdue for r in board.by_department)
    found = plans(session, seen)
    session.rollback()
    late = plan_naming(found, "ix_task_open_stage_scope_due", "ix_case_open")
    if session.get_bind().dialect.name == "sqlite":
        assert "SCAN task USING COVERING INDEX ix_task_open_stage_scope_due" in late, late
        assert "SEARCH grid_case USING COVERING INDEX ix_case_open (id=?" in late, late
        # The 督办 list is counted with its scope read from the open cases' index, not their rows.
        counted = [p for (sql, _), p in zip(seen, found) if "count(*)" in sql and "stage IN" in sql]
        assert counted and "COVERING INDEX ix_case_open (id=?)" in counted[0], counted
        assert "grid_case USING INTEGER PRIMARY KEY" not in counted[0], counted
    else:
        assert "Index Only Scan using ix_task_open_stage_scope_due" in late, late
        assert "Index Only Scan using ix_case_open" in late, late


def test_the_map_counts_a_period_per_grid_from_one_index(busy):
    session, supervisor = busy.session, busy.user("super_district")
    with statements(session) as seen:
        shown = case_map.case_map(session, busy.rt, supervisor, CaseFilter(), now=busy.rt.clock())
    assert shown.cases == 5
    found = plans(session, seen)
    session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        counted = plan_naming(found, "ix_case_map")
        assert "COVERING INDEX ix_case_map (created_at>? AND created_at<?)" in counted, counted
    else:
        # At a million PostgreSQL reads ix_case_map alone (Index Only Scan, 62 ms); with a few rows
        # and no statistics it may take the scope index, but never a scan of the cases.
        counted = [p for (sql, _), p in zip(seen, found) if "GROUP BY grid_case.grid_id" in sql]
        assert counted and "Index" in counted[0] and "Seq Scan" not in counted[0], counted
