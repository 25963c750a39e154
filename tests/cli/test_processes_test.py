"""`gridflow processes test`: one line per scenario, a JSON last line with the coverage figure,
a non-zero exit on a failure; a folder, a deployed version or a studio draft."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

PROCESSES = Path(__file__).resolve().parents[2] / "processes"


def test_the_shipped_scenarios_pass_and_cover_every_flow(run_gridflow):
    result = run_gridflow("processes", "test", "--require-coverage")
    lines = result.output.strip().splitlines()
    summary = json.loads(lines[-1])
    assert result.exit_code == 0, result.output
    assert summary["failed"] == 0 and summary["passed"] == summary["scenarios"] >= 30
    assert summary["flows_covered"] == summary["flows_total"] > 150 and summary["uncovered"] == []
    assert "✓ timers/handle_warning_overdue_escalation: passed" in lines


def test_a_failing_scenario_is_one_line_with_its_step_and_the_exit_code_says_so(run_gridflow, tmp_path):
    folder = tmp_path / "processes"
    shutil.copytree(PROCESSES, folder)
    routing = folder / "routing.dmn"
    # The routing table sends 私搭乱建 in core areas to 环卫 instead of 城管.
    text = routing.read_text(encoding="utf-8")
    routing.write_text(text.replace('<text>"CG"</text>', '<text>"HW"</text>', 1), encoding="utf-8")
    result = run_gridflow("processes", "test", str(folder), "-k", "routing/")
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1
    assert ("✗ routing/department_illegal_building: step 2 (dispatch as dispatch_dhm): expected department CG, "
            "got HW") in lines
    summary = json.loads(lines[-1])
    assert summary["failed"] == 1 and summary["passed"] == summary["scenarios"] - 1
    assert "Flow_accept_cancel" in summary["uncovered"]  # only the routing file ran


def test_a_deployed_version_is_tested_with_its_own_scenarios(run_gridflow):
    assert run_gridflow("init", "--demo").exit_code == 0
    result = run_gridflow("processes", "test", "--version", "1", "-k", "acceptance/")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["passed"] == 4
    nothing = run_gridflow("processes", "test", "-k", "no-such-scenario")
    assert nothing.exit_code == 1 and json.loads(nothing.output.strip().splitlines()[-1])["scenarios"] == 0
