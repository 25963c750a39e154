"""The gridflow command: init, processes validate/deploy, users token, bench."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from models import make_engine
from cli.main import main


@pytest.fixture
def run(database_url, db_engine, monkeypatch):
    monkeypatch.setenv("GRIDFLOW_DATABASE_URL", database_url)
    if db_engine.dialect.name == "postgresql":
        with db_engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        from models import drop_schema
        drop_schema(db_engine)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)
    return invoke


def test_init_demo_then_refuses_to_overwrite_without_force(run, database_url):
    result = run("init", "--demo")
    assert result.exit_code == 0, result.output
    assert "34 grid" in result.output and "deployed grid_case v1" in result.output
    assert "gridflow-demo" in result.output
    again = run("init")
    assert again.exit_code == 1 and "--force" in again.output
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from user_account")).scalar() > 0  # untouched
    forced = run("init", "--force")
    assert forced.exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from user_account")).scalar() == 0
    engine.dispose()


def test_processes_validate_and_deploy(run, tmp_path):
    assert run("init").exit_code == 0
    ok = run("processes", "validate")
    assert ok.exit_code == 0 and "6 file(s) valid" in ok.output and "policy.toml" in ok.output
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<definitions", encoding="utf-8")
    failed = run("processes", "validate", str(bad))
    assert failed.exit_code == 1 and "bad.bpmn" in failed.output
    assert "deployed new version grid_case v1" in run("processes", "deploy").output
    assert "unchanged, still grid_case v1" in run("processes", "deploy").output


def test_users_token_prints_a_working_token(run):
    assert run("init", "--demo").exit_code == 0
    result = run("users", "token", "clerk_dhm")
    assert result.exit_code == 0 and result.output.strip().startswith("gf_")
    missing = run("users", "token", "nobody")
    assert missing.exit_code == 1 and "nobody" in missing.output


def test_bench_lifecycle_prints_figures_as_json(run):
    result = run("bench", "lifecycle", "--cases", "3")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["cases"] == 3 and figures["median_ms_per_case"] > 0
    assert figures["state_bytes_per_closed_case"] > 0


def test_demo_generate_adds_cases(run):
    assert run("init", "--demo").exit_code == 0
    result = run("demo", "generate", "--cases", "120", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "added 120 cases" in result.output
    again = run("demo", "generate", "--cases", "30")
    assert again.exit_code == 0 and "added 30 cases" in again.output


def test_bench_web_generates_then_reuses_and_prints_json(run):
    result = run("bench", "web", "--cases", "300", "--requests", "3")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["cases"] == 300
    for key in ("inbox_clerk_engine_ms", "inbox_handler_engine_ms", "board_engine_ms"):
        assert figures[key] > 0
    second = run("bench", "web", "--cases", "200", "--requests", "3")
    assert "generating" not in second.output
    assert json.loads(second.output.strip().splitlines()[-1])["cases"] == 300
