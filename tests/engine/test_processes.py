"""Validation and deployment of the designers' files; versions are stored once."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.process import deploy as process_service
from engine.assembly import make_runtime
from engine.spiff import ProcessError
from models import ProcessVersion


@pytest.fixture
def rt(settings):
    return make_runtime(settings)


@pytest.fixture
def files(settings):
    return process_service.read_files([settings["PROCESSES_DIR"]])


def test_the_shipped_processes_are_valid(rt, files):
    assert {n for n in files if not n.startswith("scenarios/")} == {
        "grid_case.bpmn", "routing.dmn", "sla.dmn", "supervision.dmn", "stages.toml", "notices.toml", "policy.toml",
        "assessment.toml"}
    assert "scenarios/timers.toml" in files  # the scenario tests travel with the rules they test
    assert process_service.validate(rt, files, required="grid_case") == []


def test_problems_are_named_with_their_element(rt, files):
    broken = dict(files)
    broken["grid_case.bpmn"] = (files["grid_case.bpmn"]
                                .replace('camunda:formKey="accept"', "")
                                .replace(">受理员<", ">保安<")
                                .replace('name="受理员"', 'name="保安"'))
    problems = process_service.validate(rt, broken, required="grid_case")
    assert any("accept has formData but no camunda:formKey" in p for p in problems)
    assert any("grid_case/accept: lane '保安' is not a known role" in p for p in problems)


def test_malformed_xml_names_the_file(rt, files):
    broken = dict(files, **{"sla.dmn": files["sla.dmn"][:-40]})
    problems = process_service.validate(rt, broken)
    assert len(problems) == 1 and "sla.dmn" in problems[0]


def test_deploy_stores_a_version_only_when_content_changes(sessions, rt, files):
    with sessions() as session:
        first = process_service.deploy(session, rt, files, "grid_case")
        again = process_service.deploy(session, rt, files, "grid_case")
        assert first.created and not again.created and again.version.id == first.version.id
        changed = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace("受理立案", "受理与立案")})
        second = process_service.deploy(session, rt, changed, "grid_case")
        assert second.created and second.version.version == 2
        session.commit()
        assert session.query(ProcessVersion).count() == 2


def test_deploy_refuses_invalid_files(sessions, rt, files):
    with sessions() as session, pytest.raises(ProcessError, match="cannot deploy"):
        process_service.deploy(session, rt, dict(files, **{"grid_case.bpmn": "<x/>"}), "grid_case")


def test_running_cases_stay_on_their_version(driver, settings):
    case = driver.report()
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    changed = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace("受理立案", "受理与立案")})
    process_service.deploy(driver.session, driver.rt, changed, "grid_case")
    driver.session.commit()
    newer = driver.report()
    assert newer.process_version_id != case.process_version_id
    assert driver.task(case, "accept").name == "受理立案"
    assert driver.task(newer, "accept").name == "受理与立案"
    driver.do(case, "accept", "clerk_dhm", decision="file")   # the old one still runs
    assert case.stage == "dispatch"


def test_a_case_stores_its_state_without_the_process_definition(driver, settings):
    """The definition is stored once per version; a new case's state is a small fraction of it."""
    case = driver.report()
    diagram = (Path(settings["PROCESSES_DIR"]) / "grid_case.bpmn").stat().st_size
    assert 500 < len(case.state) < min(10_000, diagram / 20)


def test_an_enum_value_named_like_a_task_is_reported(rt, files):
    clashing = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace(
        '<camunda:value id="sign" name="签收" />', '<camunda:value id="accept" name="签收" />')})
    problems = process_service.validate(rt, clashing, required="grid_case")
    assert any("'accept' is also an element id" in p for p in problems)


@pytest.mark.parametrize("old, new, expected", [
    ("rework_count = 0", "import os", "imports are not allowed"),
    ("decision == 'cancel'", "decision == (", "conditionExpression"),
    ("outcome = 'closed'", "outcome = ().__class__", "attribute '__class__' is not allowed"),
])
def test_scripts_and_conditions_are_checked_before_deploy(rt, files, old, new, expected):
    assert old in files["grid_case.bpmn"]
    broken = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace(old, new, 1)})
    problems = process_service.validate(rt, broken, required="grid_case")
    assert any(expected in p for p in problems), problems


def test_decision_cells_are_checked_before_deploy(rt, files):
    broken = dict(files, **{"sla.dmn": files["sla.dmn"].replace("<text>1</text>", "<text>__import__('os')</text>", 1)})
    problems = process_service.validate(rt, broken)
    assert any("sla.dmn" in p and "__import__" in p for p in problems), problems


def test_an_escalation_to_an_unknown_level_is_reported_before_deploy(rt, files):
    broken = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace(
        'value="escalate" />\n          <camunda:property name="level" value="street" />',
        'value="escalate" />\n          <camunda:property name="level" value="city" />', 1)})
    assert any("handle_escalated_street: escalate needs level community, street, district (policy.toml "
               "[escalation.levels]), not 'city'" in p
               for p in process_service.validate(rt, broken))
