"""Each round of a task starts from an empty form, records only what was submitted in it, and shows
the person deciding the case facts the designer listed; a self-handled report is checked by
someone other than its reporter."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.errors import Forbidden, InputError
from engine.lifecycle import attachments as attachment_service
from engine.lifecycle import tasks as task_service
from engine.lifecycle.tasks import task_details

from tests.engine.conftest import notified
from tests.photos import png
from tests.timekeeping import at


def details(driver, case, bpmn_id, username):
    return task_details(driver.session, driver.rt, driver.user(username), driver.task(case, bpmn_id).id)


def facts(driver, case, bpmn_id, username):
    return {f.label: f.value for f in details(driver, case, bpmn_id, username).facts}


def completion(driver, case, bpmn_id, nth=-1):
    return [e.data for e in driver.events(case) if e.kind == "task_completed" and e.task_bpmn_id == bpmn_id][nth]


def test_rework_starts_from_an_empty_form_and_shows_the_verifiers_reason(driver, handling):
    case = handling
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=4, extension_reason="等清运车")
    driver.do(case, "approve_extension", "leader_dhm", approval="approve")
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result="fail", verify_note="现场仍有垃圾残留")
    form = details(driver, case, "handle", "handler_hw")
    assert all(v is None for v in form.values.values())             # no 处置完毕, no old extension text
    assert {f.label: f.value for f in form.facts} == {"返工原因": "现场仍有垃圾残留"}
    assert "handler_hw" in notified(driver, case, "notice")
    driver.do(case, "handle", "handler_hw", action="done")
    assert completion(driver, case, "handle") == {"action": "done"}  # the extension is not asked again
    driver.do(case, "feedback", "handler_hw", result="已彻底清理")
    assert all(v is None for v in details(driver, case, "verify", "grid_dhm_01").values.values())
    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    assert completion(driver, case, "verify") == {"verify_result": "pass"}  # not "passed: garbage still there"
    assert completion(driver, case, "verify", 0) == {"verify_result": "fail", "verify_note": "现场仍有垃圾残留"}


def test_redispatch_offers_the_routing_recommendation_and_says_who_returned_it(driver, clock):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    dispatch = details(driver, case, "dispatch", "dispatch_dhm")
    assert (dispatch.values["level"], dispatch.values["department_code"]) == ("department", "HW")
    assert dispatch.rule is not None and "暴露垃圾" in dispatch.rule[1] and dispatch.facts == []
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="CG")
    assert completion(driver, case, "dispatch") == {"level": "department", "department_code": "CG",
                                                     "department_override": True, "recommended_department": "HW"}
    driver.do(case, "sign_for", "handler_cg", sign_decision="return", return_reason="不属于城管职责")
    again = details(driver, case, "dispatch", "dispatch_dhm")
    assert again.values["department_code"] == "HW"                   # the recommendation, not the refusing CG
    shown = {f.label: f.value for f in again.facts}
    assert shown["回退人"] == "金海" and shown["回退理由"] == "不属于城管职责"
    assert datetime.fromisoformat(shown["回退时间"]) == at(25, 10)
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    assert "department_override" not in completion(driver, case, "dispatch")
    assert details(driver, case, "sign_for", "handler_hw").values["return_reason"] is None


def test_the_approver_sees_hours_reason_and_both_deadlines(driver, handling, clock):
    case = handling
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=4, extension_reason="等清运车")
    shown = facts(driver, case, "approve_extension", "leader_dhm")
    assert shown["申请延期(小时)"] == 4 and shown["延期理由"] == "等清运车"
    current, new = (datetime.fromisoformat(shown[k]) for k in ("当前期限", "延期后期限"))
    assert current == datetime.fromisoformat(case.due_times["handle"])
    assert new > current
    driver.do(case, "approve_extension", "leader_dhm", approval="approve")
    assert datetime.fromisoformat(case.due_times["handle"]) == new


def test_a_self_handled_report_is_verified_and_closed_by_someone_else(driver):
    case = driver.report(self_handled=True, description="井盖松动，已当场复位")
    verify = driver.task(case, "verify")
    reporter = driver.user("grid_dhm_01")
    with pytest.raises(Forbidden):
        task_service.claim(driver.session, driver.rt, reporter, verify.id)
    with pytest.raises(Forbidden):
        driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    driver.session.rollback()
    names = {u.username for u in task_service.candidates(driver.session, driver.task(case, "verify"))}
    assert "comm_nanchizi" in names and "grid_dhm_01" not in names
    driver.do(case, "verify", "comm_nanchizi", verify_result="pass")
    assert driver.task(case, "close").not_by == "grid_dhm_01"


def test_closing_can_send_the_case_back_to_verification_with_a_reason(driver, handling):
    case = handling
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    with pytest.raises(InputError) as err:
        driver.do(case, "close", "leader_dhm", close_decision="reverify")
    assert "close_note" in err.value.errors
    driver.session.rollback()
    driver.do(case, "close", "leader_dhm", close_decision="reverify", close_note="照片看不清，请重新核查")
    assert case.stage == "verify" and case.status == "open"
    assert facts(driver, case, "verify", "grid_dhm_01")["退回核查理由"] == "照片看不清，请重新核查"


def test_the_same_photo_sent_again_for_a_task_is_stored_once(driver, handling):
    case = handling
    task = driver.task(case, "handle")
    user = driver.user("handler_hw")
    first = attachment_service.add_attachment(driver.session, driver.rt, user, case, "a.png", png(), task=task)
    again = attachment_service.add_attachment(driver.session, driver.rt, user, case, "a.png", png(), task=task)
    driver.session.commit()
    assert again.id == first.id
    assert len(attachment_service.list_attachments(driver.session, case)) == 1
