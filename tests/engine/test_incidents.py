"""A step that fails on a running case becomes an incident; migrate and retry get the case going."""
from __future__ import annotations

import pytest

from engine.errors import Conflict, NotFound, StepFailed
from engine.lifecycle.incidents import migrate_case
from engine.lifecycle.sweep import retry_incident
from engine.process import deploy as process_service

from tests.engine.conftest import kinds

MISSPELT = ("sign_decision == 'return'", "sign_decison == 'return'")


def deploy_unchecked(driver, monkeypatch, files):
    """Deploy files as a designer could before validate knew variables (bypassing the check)."""
    monkeypatch.setattr(process_service, "validate", lambda *args, **kwargs: [])
    deployment = process_service.deploy(driver.session, driver.rt, files, "grid_case")
    monkeypatch.undo()
    driver.session.commit()
    return deployment.version


@pytest.fixture
def files(settings):
    return process_service.read_files([settings["PROCESSES_DIR"]])


@pytest.fixture
def stuck(driver, monkeypatch, files):
    """A case on a version whose 签收 gateway reads a misspelt variable, at 签收."""
    deploy_unchecked(driver, monkeypatch, dict(files, **{
        "grid_case.bpmn": files["grid_case.bpmn"].replace(*MISSPELT)}))
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    return case


def test_a_failing_completion_leaves_the_task_open_and_records_an_incident(driver, stuck):
    seen = stuck.version
    with pytest.raises(StepFailed) as failure:
        driver.do(stuck, "sign_for", "handler_hw", sign_decision="sign")
    assert failure.value.element == "gw_sign" and failure.value.code == "step_failed"
    assert "sign_decison" in failure.value.message
    driver.session.expire_all()
    assert stuck.stage == "sign" and stuck.version == seen and "gw_sign" in stuck.incident
    assert driver.task(stuck, "sign_for").status == "open"       # nothing of the step was kept
    assert kinds(driver, stuck, "incident", "task_completed") == ["task_completed", "task_completed", "incident"]


def test_retry_on_the_broken_version_still_fails_and_keeps_the_incident(driver, stuck):
    with pytest.raises(StepFailed):
        driver.do(stuck, "sign_for", "handler_hw", sign_decision="sign")
    with pytest.raises(StepFailed):
        retry_incident(driver.session, driver.rt, stuck)
    driver.session.expire_all()
    assert stuck.incident and kinds(driver, stuck, "incident") == ["incident", "incident"]


def test_migrating_to_the_fixed_version_and_retrying_completes_the_task(driver, stuck, files, monkeypatch):
    with pytest.raises(StepFailed):
        driver.do(stuck, "sign_for", "handler_hw", sign_decision="return", return_reason="不属于本单位")
    fixed = process_service.deploy(driver.session, driver.rt, files, "grid_case").version
    driver.session.commit()
    migrate_case(driver.session, driver.rt, stuck, fixed.version, by="designer_li")
    driver.session.commit()
    assert stuck.process_version_id == fixed.id and stuck.incident  # migrating does not run the step
    moved = [e for e in driver.events(stuck) if e.kind == "migrated"]
    assert moved[0].data == {"from_version": fixed.version - 1, "to_version": fixed.version, "by": "designer_li"}
    driver.check_round_trip(stuck)
    retry_incident(driver.session, driver.rt, stuck)
    driver.session.commit()
    assert stuck.incident is None and stuck.stage == "dispatch"  # returned, as the handler asked
    completed = [e for e in driver.events(stuck) if e.kind == "task_completed"][-1]
    assert completed.task_bpmn_id == "sign_for" and completed.actor.username == "handler_hw"


def test_migration_is_refused_when_the_target_lacks_a_task_the_case_has(driver, stuck, files, monkeypatch):
    renamed = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace('"init_case"', '"init_counts"')})
    other = deploy_unchecked(driver, monkeypatch, renamed)
    before = stuck.process_version_id
    with pytest.raises(Conflict, match="init_case"):
        migrate_case(driver.session, driver.rt, stuck, other.version, by="designer_li")
    with pytest.raises(NotFound):
        migrate_case(driver.session, driver.rt, stuck, 99, by="designer_li")
    driver.session.rollback()
    assert stuck.process_version_id == before and kinds(driver, stuck, "migrated") == []


def test_a_failing_message_becomes_an_incident_and_retry_delivers_it_again(driver, clock, files, monkeypatch):
    from engine.public import tracking
    from tests.engine.test_rating import HANDLING, TO_CLOSE, drive

    condition = "rating.get('satisfaction') == 'dissatisfied'"
    deploy_unchecked(driver, monkeypatch, dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace(
        condition, "ratng.get('satisfaction') == 'dissatisfied'")}))
    case = driver.report("clerk_dhm", source="hotline", reporter_phone="13900001111")
    secret = case.tracking_secret
    drive(driver, case, HANDLING + TO_CLOSE)
    with pytest.raises(StepFailed) as failure:
        tracking.rate(driver.session, driver.rt, case.code, secret, "dissatisfied", "还没清干净")
    assert failure.value.element == "gw_satisfied" and "ratng" in failure.value.message
    driver.session.expire_all()
    assert case.stage == "rating" and "gw_satisfied" in case.incident
    fixed = process_service.deploy(driver.session, driver.rt, files, "grid_case").version
    migrate_case(driver.session, driver.rt, case, fixed.version, by="designer_li")
    retry_incident(driver.session, driver.rt, case)
    driver.session.commit()
    assert case.incident is None and driver.task(case, "review_rating").status == "open"
