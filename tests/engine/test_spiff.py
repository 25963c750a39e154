"""The facade's guard over SpiffWorkflow: a supported version only, patches once, old versions load."""
from __future__ import annotations

import json
import logging
from importlib import metadata

import pytest
from sqlalchemy import update

from engine.runtime import Runtime
from engine.spiff import UnsupportedSpiffWorkflow, WorkflowEngine, patches
from models import ProcessVersion

ONE_TASK = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="note"/>
    <scriptTask id="note"><script>noted = True</script></scriptTask>
    <sequenceFlow id="f2" sourceRef="note" targetRef="ask"/>
    <userTask id="ask" name="Ask"/>
    <sequenceFlow id="f3" sourceRef="ask" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>"""


@pytest.mark.parametrize("found", ["3.3.0", "3.1.1"])
def test_another_library_version_is_refused_with_what_to_do(monkeypatch, found):
    monkeypatch.setattr(patches, "installed_version", lambda: found)
    with pytest.raises(UnsupportedSpiffWorkflow) as caught:
        patches.apply()
    message = str(caught.value)
    assert f"SpiffWorkflow {found} is installed" in message
    assert "3.2.0" in message and "pip install 'SpiffWorkflow==3.2.0'" in message
    assert "engine/spiff/patches.py" in message


def test_a_missing_library_is_named_as_missing(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(patches.metadata, "version", not_installed)
    with pytest.raises(UnsupportedSpiffWorkflow, match=r"SpiffWorkflow \(not installed\) is installed"):
        patches.check_version()


def test_the_supported_version_passes_the_guard():
    assert patches.installed_version() in patches.SUPPORTED_VERSIONS
    patches.check_version()


def test_applying_the_patches_again_changes_nothing(caplog):
    from SpiffWorkflow.bpmn.specs.event_definitions import timer
    from SpiffWorkflow.task import Task

    installed = (Task._set_state, Task._inherit_data, timer.datetime)
    patches.apply()
    patches.apply()
    assert (Task._set_state, Task._inherit_data, timer.datetime) == installed

    # With the library's task log switched on, state changes go through the library's own
    # method: had a second apply() saved the patch as "the original", this would recurse.
    engine = WorkflowEngine(lambda data: {})
    bundle = engine.parse({"one.bpmn": ONE_TASK})["p"]
    with caplog.at_level(logging.INFO, logger="spiff.task"):
        workflow = engine.start(bundle, {"case_code": "C1"})
    [ready] = engine.ready_tasks(workflow, bundle)
    assert ready.node.bpmn_id == "ask" and ready.data["noted"] is True
    changes = [r for r in caplog.records if r.name == "spiff.task" and r.getMessage().startswith("State changed")]
    assert changes


@pytest.mark.parametrize("stored", [
    "not json at all",
    # A format the library no longer knows (a renamed spec class, as after an upgrade).
    json.dumps({"key": "grid_case", "spec": {"typename": "BpmnProcessSpecV9"}, "subprocess_specs": {}}),
])
def test_a_version_whose_stored_spec_cannot_be_read_is_rebuilt_from_its_sources(
        driver, settings, caplog, stored):
    case = driver.report()
    driver.session.execute(update(ProcessVersion).where(ProcessVersion.id == case.process_version_id)
                           .values(serialized_spec=stored))
    driver.session.commit()
    driver.session.expire_all()
    driver.rt = Runtime(settings)  # a new process: nothing cached from before the damage

    with caplog.at_level(logging.WARNING, logger="gridflow.process"):
        driver.do(case, "accept", "clerk_dhm", decision="file")
        driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")

    assert case.stage == "sign" and case.department_code == "HW"
    assert driver.task(case, "sign_for").name
    warnings = [r.getMessage() for r in caplog.records if r.name == "gridflow.process"]
    assert len(warnings) == 1 and "rebuilt from its source files" in warnings[0]
    assert driver.session.get(ProcessVersion, case.process_version_id).serialized_spec == stored
