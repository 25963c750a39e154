"""Every scenario shipped in processes/scenarios passes, and together they take every sequence
flow of grid_case.bpmn: "every path" is checked, not claimed. One test per scenario, so a
failing one is named; the city is imported once for all of them."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from engine.process import deploy as process_service
from engine.scenarios.runner import ScenarioRunner
from engine.settings import load_settings

FOLDER = Path(__file__).resolve().parents[2] / "processes" / "scenarios"
SHIPPED = [f"{path.stem}/{item['name']}" for path in sorted(FOLDER.glob("*.toml"))
           for item in tomllib.loads(path.read_text(encoding="utf-8")).get("scenario", [])]


@pytest.fixture(scope="module")
def shipped():
    """The shipped processes on a copy of the demo city, and each scenario's outcome once run."""
    settings = load_settings()
    runner = ScenarioRunner(settings, process_service.read_files([settings["PROCESSES_DIR"]]))
    outcomes = {}

    def outcome(scenario_id):
        if scenario_id not in outcomes:
            scenario = next(s for s in runner.scenarios if s.id == scenario_id)
            outcomes[scenario_id] = runner.run(scenario)
        return outcomes[scenario_id]

    outcome.runner = runner
    yield outcome
    runner.close()


def test_the_shipped_scenario_files_are_sound(shipped):
    assert shipped.runner.problems == []
    assert sorted(s.id for s in shipped.runner.scenarios) == sorted(SHIPPED)
    assert len(SHIPPED) >= 30


@pytest.mark.parametrize("scenario_id", SHIPPED)
def test_shipped_scenario(shipped, scenario_id):
    outcome = shipped(scenario_id)
    assert outcome.passed, outcome.text


def test_the_shipped_scenarios_take_every_sequence_flow_of_grid_case(shipped):
    flows = shipped.runner.flows.flows
    taken = set().union(*(shipped(s).taken for s in SHIPPED))
    untaken = [flow for flow in flows if flow not in taken]
    assert len(flows) > 150
    assert untaken == [], f"no scenario takes {len(untaken)} of {len(flows)} flows: {', '.join(untaken)}"
