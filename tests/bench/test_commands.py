"""`gridflow bench`: each benchmark prints figures that add up, in ranges a real run can produce.

The ranges for times are wide on purpose (the suite shares a small machine); they catch a figure
in the wrong unit, a zero or a count that does not match what the benchmark made.
"""
from __future__ import annotations

import json

from sqlalchemy import func, select

from models import Case


def figures_of(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_bench_lifecycle_times_each_case_through_the_main_path_and_cleans_up(run_gridflow, db_engine, sessions):
    figures = figures_of(run_gridflow("bench", "lifecycle", "--cases", "3"))
    assert figures["cases"] == 3 and figures["database"] == db_engine.dialect.name
    # A case is reported and carried through eight tasks, each a committed transaction.
    assert 2 < figures["median_ms_per_case"] <= figures["p95_ms_per_case"] < 20_000
    # Three cases one after another: the rate is about one over the time per case.
    assert 0.2 < figures["cases_per_second"] * figures["median_ms_per_case"] / 1000 < 2
    # A closed case's compressed state is a few KB (the process definition is not in it), its
    # audit trail some hundred bytes.
    assert 1_000 < figures["state_bytes_per_closed_case"] < 20_000
    assert 100 < figures["audit_bytes_per_closed_case"] < 10_000
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 0  # without --keep


def test_bench_timers_fires_every_timer_that_was_made_due(run_gridflow, db_engine):
    figures = figures_of(run_gridflow("bench", "timers", "--due", "4"))
    assert figures["due_cases"] == figures["cases_fired"] == 4
    assert figures["database"] == db_engine.dialect.name and figures["workers"] == 1
    # Each case sits at handling past its whole time limit: the warning, the overdue and the
    # first escalation timer fire; the case is marked overdue and escalated (the warning is moot).
    assert figures["timers_fired"] == 3 * 4 and figures["effects_recorded"] == 2 * 4
    assert 0 < figures["seconds"] < 120
    assert abs(figures["timers_per_second"] - 3 * figures["cases_per_second"]) <= 0.2


def test_bench_web_generates_then_reuses_and_times_engine_and_pages(run_gridflow, db_engine, monkeypatch):
    # As on a server set up by the README: no GRIDFLOW_SECRET_KEY, not in demo mode. The pages the
    # benchmark serves itself are signed with a key of its own (the shipped one is refused).
    monkeypatch.delenv("GRIDFLOW_SECRET_KEY", raising=False)
    monkeypatch.setenv("GRIDFLOW_DEMO", "false")
    result = run_gridflow("bench", "web", "--cases", "300", "--requests", "3")
    figures = figures_of(result)
    assert "/open311/v2/requests.json" in result.output and "cases_text_short" in result.output  # a line per path
    assert figures["cases"] == 300 and figures["database"] == db_engine.dialect.name
    timed = {"inbox_clerk_engine_ms", "inbox_handler_engine_ms", "board_engine_ms",
             "inbox_clerk_ms", "inbox_handler_ms", "board_ms", "cases_ms", "cases_offset_5000_ms",
             "cases_text_rare_ms", "cases_text_common_ms", "cases_text_short_ms", "cases_open_in_street_ms",
             "case_page_ms", "task_page_ms", "open311_requests_ms", "healthz_ms", "readyz_ms"}
    assert timed <= figures.keys()
    for key in timed:
        assert 0.01 < figures[key] < 10_000, (key, figures[key])
    second = run_gridflow("bench", "web", "--cases", "200", "--requests", "3")
    assert "generating" not in second.output
    assert figures_of(second)["cases"] == 300


def test_bench_load_drives_whole_lifecycles_over_http_on_postgresql(run_gridflow, database_url):
    import pytest
    if not database_url.startswith("postgresql"):
        pytest.skip("bench load runs gunicorn on PostgreSQL (GRIDFLOW_TEST_DATABASE_URL)")
    figures = figures_of(run_gridflow("bench", "load", "--database-url", database_url, "--workers", "1",
                                      "--clients", "2", "--seconds", "3", "--single-seconds", "2"))
    w1 = figures["workers_1"]
    assert w1["errors_5xx"] == 0 and w1["first_error"] is None, w1
    assert w1["one_client_lifecycles"] >= 1 and w1["lifecycles"] >= 1
    # Ten requests a lifecycle (report, read, eight task answers); the clients' last ones may be cut short.
    assert 10 * w1["lifecycles"] <= w1["requests"] < 10 * (w1["lifecycles"] + 2)
    assert w1["latency"]["complete close"]["n"] >= w1["lifecycles"]
    assert 10 < w1["one_client_ms_per_lifecycle"] < 20_000
    assert w1["latency"]["report"]["n"] >= w1["lifecycles"]
    assert 0 < w1["latency"]["all"]["p50_ms"] <= w1["latency"]["all"]["p99_ms"]


def test_bench_assessment_generates_a_year_of_facts_and_times_every_grouping(run_gridflow, db_engine):
    figures = figures_of(run_gridflow("bench", "assessment", "--cases", "300", "--requests", "1"))
    assert figures["cases"] == 300 and figures["database"] == db_engine.dialect.name
    groupings = ("street", "community", "grid", "department", "person", "category", "major", "source")
    assert all(0 < figures[f"month_by_{g}_ms"] < 30_000 for g in groupings)
    assert all(0 < figures[f"year_ranking_by_{g}_ms"] < 30_000 for g in ("street", "department", "person"))
    # About a twelfth of the year's cases are reported in June; most of what falls due there is closed.
    assert 5 <= figures["month_received"] <= 60 and 0.5 < figures["month_closing_rate"] <= 1
    assert figures["facts"] > 300 * 5 and figures["tally_rows"] > 0
    again = figures_of(run_gridflow("bench", "assessment", "--cases", "300", "--requests", "1"))
    assert again["cases"] == 300 and again["facts"] == figures["facts"]       # reused, not generated again


def test_bench_city_imports_twice_and_places_every_point_in_its_grid(run_gridflow):
    figures = figures_of(run_gridflow("bench", "city", "--scale", "0.02", "--points", "500"))
    assert (figures["streets"], figures["communities"], figures["grids"], figures["users"]) == (3, 40, 120, 400)
    assert figures["reimport_changes"] == 0 and figures["misplaced"] == 0
    assert 0 < figures["reimport_s"] and 0 < figures["import_s"] < 60
    assert 0 < figures["place_ms"] < 5 and figures["database"] == "sqlite"
def test_bench_migrate_moves_every_case_and_undoes_the_move(run_gridflow, sessions):
    from models import CaseMigration, ProcessVersion

    figures = figures_of(run_gridflow("bench", "migrate", "--cases", "5"))
    assert figures["cases"] == figures["can_migrate"] == figures["migrated"] == figures["undone"] == 5
    assert figures["failed"] == 0 and figures["migrated_per_s"] > 0
    with sessions() as session:  # without --keep: no case, no moves and no bench version are left
        assert session.scalar(select(func.count()).select_from(Case)) == 0
        assert session.scalar(select(func.count()).select_from(CaseMigration)) == 0
        assert session.scalar(select(func.count()).select_from(ProcessVersion)) == 1


def test_bench_simulate_times_a_simulation_of_the_generated_cases(run_gridflow, db_engine):
    figures = figures_of(run_gridflow("bench", "simulate", "--cases", "40", "--days", "30"))
    assert figures["database"] == db_engine.dialect.name and figures["days"] == 30
    # The generator places most of its cases in the period; each is replayed or said not to be.
    assert 30 <= figures["cases"] <= 40
    assert figures["cases_replayed"] + figures["not_replayed"] == figures["cases"]
    assert 1 <= figures["replays"] <= figures["cases"]
    assert 0 < figures["seconds"] < 600 and 0 < figures["ms_per_case"] < 60_000
    assert figures["department_changes"] >= 0 and set(figures["phases"]) == {"read", "replay", "results"}
