"""The gridflow command: init, processes validate/deploy, users token (bench: tests/bench, demo: tests/demo)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from models import make_engine

SCENARIO_FILES = len(list((Path(__file__).resolve().parents[2] / "processes" / "scenarios").glob("*.toml")))


def test_init_demo_then_refuses_to_overwrite_without_force(run_gridflow, database_url):
    result = run_gridflow("init", "--demo")
    assert result.exit_code == 0, result.output
    assert "34 grid" in result.output and "deployed grid_case v1" in result.output
    assert "gridflow-demo" in result.output
    again = run_gridflow("init")
    assert again.exit_code == 1 and "--force" in again.output
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from user_account")).scalar() > 0  # untouched
    forced = run_gridflow("init", "--force")
    assert forced.exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from user_account")).scalar() == 0
    engine.dispose()


def test_processes_validate_and_deploy(run_gridflow, tmp_path):
    assert run_gridflow("init").exit_code == 0
    ok = run_gridflow("processes", "validate")
    assert ok.exit_code == 0 and "policy.toml" in ok.output and "scenarios/timers.toml" in ok.output
    assert f"{8 + SCENARIO_FILES} file(s) valid" in ok.output
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<definitions", encoding="utf-8")
    failed = run_gridflow("processes", "validate", str(bad))
    assert failed.exit_code == 1 and "bad.bpmn" in failed.output
    assert "deployed new version grid_case v1" in run_gridflow("processes", "deploy").output
    assert "unchanged, still grid_case v1" in run_gridflow("processes", "deploy").output


def test_users_token_prints_a_working_token(run_gridflow):
    assert run_gridflow("init", "--demo").exit_code == 0
    result = run_gridflow("users", "token", "clerk_dhm")
    assert result.exit_code == 0 and result.output.strip().startswith("gf_")
    missing = run_gridflow("users", "token", "nobody")
    assert missing.exit_code == 1 and "nobody" in missing.output


def test_processes_deploy_records_its_note_and_export_writes_the_version_back(run_gridflow, tmp_path, settings):
    from engine.process import deploy as process_service

    assert run_gridflow("init").exit_code == 0
    assert "deployed new version grid_case v1" in run_gridflow("processes", "deploy", "--note", "首个版本").output
    out = tmp_path / "exported"
    result = run_gridflow("processes", "export", "1", str(out))
    assert result.exit_code == 0 and f"wrote {8 + SCENARIO_FILES} file(s) of grid_case v1" in result.output
    assert process_service.read_files([out]) == process_service.read_files([settings["PROCESSES_DIR"]])
    missing = run_gridflow("processes", "export", "9", str(out))
    assert missing.exit_code != 0 and "grid_case has no version 9" in missing.output


def test_processes_lint_config_names_the_policy_files_lists(run_gridflow):
    import json

    config = json.loads(run_gridflow("processes", "lint-config").output)
    assert config["extends"] == ["bpmnlint:recommended"]
    _, vocabulary = config["rules"]["gridflow/lane-role"]
    assert "受理员" in vocabulary["lanes"] and "process_designer" in vocabulary["lanes"]
    assert "dispatch" in config["rules"]["gridflow/task-properties"][1]["stages"]
