"""Every path of the grid_case lifecycle, driven through the engine with persistence."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.lifecycle import cases as case_service
from engine.errors import Conflict, Forbidden, InputError, NotFound
from engine.queries.inbox import inbox
from engine.lifecycle.tasks import task_details
from models import Case

from tests.engine.conftest import FRINGE_GRID, GRID, ILLEGAL_BUILD, SMALL_ADS, notified

from tests.timekeeping import local



pytestmark = pytest.mark.usefixtures("clock")



def test_main_path_from_hotline_report_to_closing(driver):
    case = driver.report("clerk_dhm", source="hotline", reporter_name="王女士", reporter_phone="13900001111")
    assert case.code.startswith("GF20261125") and case.status == "open" and case.stage == "accept"
    accept = driver.task(case, "accept")
    assert (accept.role, accept.scope_key) == ("acceptance_clerk", "110000/110101/110101001/")
    assert local(accept.due_at) == datetime(2026, 11, 25, 11, 0)   # 1 working hour

    driver.do(case, "accept", "clerk_dhm", decision="file", accept_note="属实")
    assert case.stage == "dispatch" and driver.task(case, "dispatch").role == "dispatcher"
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    sign = driver.task(case, "sign_for")
    assert (sign.role, sign.scope_key) == ("department_handler", "dept:HW")
    assert case.department_code == "HW" and case.stage == "sign"
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")
    handle = driver.task(case, "handle")
    assert local(handle.due_at) == datetime(2026, 11, 25, 15, 30)  # 4 working hours over lunch
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运", photos="att:1.jpg")
    assert case.stage == "callback"
    driver.do(case, "callback", "clerk_dhm", satisfaction="satisfied")
    verify = driver.task(case, "verify")
    assert (verify.role, verify.scope_key) == ("grid_worker", "110000/110101/110101001/110101001001/110101001001001/")
    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    driver.do(case, "close", "leader_dhm", close_note="结案")

    # Closed, and waiting for the reporter's rating (tests/engine/test_rating.py).
    assert (case.status, case.stage, case.due_at) == ("closed", "rating", None)
    assert case.closed_at is not None and driver.open_tasks(case) == []
    assert set(case.due_times) >= {"accept", "dispatch", "sign", "handle", "verify", "close"}
    events = driver.events(case)
    assert [e.kind for e in events] == ["reported"] + ["task_completed"] * 8 + ["closed"]
    assert [e.task_bpmn_id for e in events[1:-1]] == [
        "accept", "dispatch", "sign_for", "handle", "feedback", "callback", "verify", "close"]
    assert events[2].actor.username == "dispatch_dhm"
    assert (events[2].from_stage, events[2].to_stage) == ("dispatch", "sign")
    assert events[2].data == {"level": "department", "department_code": "HW"}


def test_patrol_report_skips_the_satisfaction_callback(driver):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    assert [t.bpmn_id for t in driver.open_tasks(case)] == ["verify"]


def test_self_handled_matter_still_goes_to_verification_and_closing(driver):
    case = driver.report(self_handled=True, description="井盖松动，已当场复位")
    assert case.self_handled and case.stage == "verify"
    assert [t.bpmn_id for t in driver.open_tasks(case)] == ["verify"]
    driver.do(case, "verify", "comm_nanchizi", verify_result="pass")  # the community's staff, not the reporter
    driver.do(case, "close", "leader_dhm")
    assert case.status == "closed"
    assert [e.task_bpmn_id for e in driver.events(case)[1:]] == ["verify", "close", None]  # None: "closed"
    assert driver.events(case)[0].data["self_handled"] is True


def test_self_handled_case_failing_verification_goes_to_acceptance(driver):
    case = driver.report(self_handled=True)
    driver.do(case, "verify", "comm_nanchizi", verify_result="fail", verify_note="仍有垃圾")
    assert [t.bpmn_id for t in driver.open_tasks(case)] == ["accept"]


def test_only_the_grids_own_worker_reports_self_handled(driver):
    with pytest.raises(Forbidden):
        driver.report("clerk_dhm", self_handled=True)
    with pytest.raises(InputError) as err:
        driver.report("clerk_dhm", self_handled=True, source="hotline")
    assert "self_handled" in err.value.errors


def test_cancel_needs_a_reason_and_ends_the_case(driver):
    case = driver.report()
    version = case.version
    with pytest.raises(InputError) as err:
        driver.do(case, "accept", "clerk_dhm", decision="cancel")
    driver.session.rollback()
    assert err.value.errors == {"cancel_reason": ["Required when decision is 'cancel'."]}
    assert case.version == version and case.stage == "accept"  # nothing changed
    driver.do(case, "accept", "clerk_dhm", decision="cancel", cancel_reason="out_of_scope")
    assert (case.status, case.stage) == ("cancelled", "cancelled") and driver.open_tasks(case) == []


def test_duplicate_links_to_the_original_case(driver):
    original = driver.report()
    dup = driver.report("grid_dhm_01", description="同一处垃圾")
    with pytest.raises(InputError) as err:
        driver.do(dup, "accept", "clerk_dhm", decision="duplicate", duplicate_of="GF00000000000")
    driver.session.rollback()
    assert "duplicate_of" in err.value.errors
    driver.do(dup, "accept", "clerk_dhm", decision="duplicate", duplicate_of=original.code)
    assert dup.status == "duplicate" and dup.duplicate_of.code == original.code


def test_supplement_waits_for_the_reporter_then_returns_to_acceptance(driver):
    case = driver.report("clerk_dhm", source="app")
    driver.do(case, "accept", "clerk_dhm", decision="supplement", supplement_request="请补充具体门牌号")
    assert case.stage == "supplement" and driver.open_tasks(case) == []
    case_service.deliver_message(driver.session, driver.rt, case, "supplement", {"text": "南池子大街12号门口"})
    driver.session.commit()
    driver.check_round_trip(case)
    assert case.stage == "accept"
    details = task_details(driver.session, driver.rt, driver.user("clerk_dhm"), driver.task(case, "accept").id)
    assert details.values["decision"] is None  # a new decision, not the last round's "supplement"
    assert [(f.label, f.value) for f in details.facts] == [("需补充的内容", "请补充具体门牌号"),
                                                           ("补充内容", "南池子大街12号门口")]
    assert "clerk_dhm" in notified(driver, case, "notice")
    assert [e.kind for e in driver.events(case)][-1] == "message"
    with pytest.raises(Conflict):
        case_service.deliver_message(driver.session, driver.rt, case, "supplement", {"text": "again"})


def test_routing_table_prefills_the_dispatch_form(driver):
    garbage = driver.report()
    driver.do(garbage, "accept", "clerk_dhm", decision="file")
    values = task_details(driver.session, driver.rt, driver.user("dispatch_dhm"),
                          driver.task(garbage, "dispatch").id).values
    assert (values["level"], values["department_code"]) == ("department", "HW")

    ads = driver.report(category_code=SMALL_ADS)
    driver.do(ads, "accept", "clerk_dhm", decision="file")
    assert task_details(driver.session, driver.rt, driver.user("dispatch_dhm"),
                        driver.task(ads, "dispatch").id).values["level"] == "grid"
    driver.do(ads, "dispatch", "dispatch_dhm", level="grid")
    assert driver.task(ads, "sign_for").scope_key.endswith(f"{GRID}/")
    driver.do(ads, "sign_for", "grid_dhm_01", sign_decision="sign")  # the grid worker handles it


def test_fringe_area_routes_illegal_building_to_the_street(driver):
    case = driver.report("grid_jdk_01", category_code=ILLEGAL_BUILD, grid_code=FRINGE_GRID)
    driver.do(case, "accept", "clerk_jdk", decision="file")
    values = task_details(driver.session, driver.rt, driver.user("dispatch_jdk"),
                          driver.task(case, "dispatch").id).values
    assert values["level"] == "street"
    driver.do(case, "dispatch", "dispatch_jdk", level="street")
    assert driver.task(case, "sign_for").scope_key == "110000/110101/110101003/"
    driver.do(case, "sign_for", "street_jdk", sign_decision="sign")


def _to_handling(driver, case):
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")


def test_return_at_sign_for_goes_back_to_dispatch_and_redispatch(driver):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="SJ")
    with pytest.raises(InputError) as err:
        driver.do(case, "sign_for", "handler_sj", sign_decision="return")
    driver.session.rollback()
    assert list(err.value.errors) == ["return_reason"]
    driver.do(case, "sign_for", "handler_sj", sign_decision="return", return_reason="不属于市场监管职责")
    assert case.stage == "dispatch"
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    assert case.department_code == "HW" and driver.task(case, "sign_for").scope_key == "dept:HW"
    wf = driver.rt.workflows
    data = wf.data(wf.load_state(driver.rt.bundle(driver.session, case.process_version_id), case.state))
    assert data["return_count"] == 1


def test_return_during_handling_goes_back_to_dispatch(driver):
    case = driver.report()
    _to_handling(driver, case)
    driver.do(case, "handle", "handler_hw", action="return", return_reason="需园林部门处理")
    assert [t.bpmn_id for t in driver.open_tasks(case)] == ["dispatch"]


def test_extensions_need_approval_and_the_second_goes_to_the_district(driver):
    case = driver.report()
    _to_handling(driver, case)
    first_due = driver.task(case, "handle").due_at
    with pytest.raises(InputError) as err:
        driver.do(case, "handle", "handler_hw", action="extend", extension_hours=0)
    driver.session.rollback()
    assert set(err.value.errors) == {"extension_hours", "extension_reason"}
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=4, extension_reason="需调派车辆")
    approval = driver.task(case, "approve_extension")
    assert (approval.role, approval.scope_key, case.stage) == ("shift_leader", "110000/110101/110101001/", "extension")
    driver.do(case, "approve_extension", "leader_dhm", approval="approve")
    second_due = driver.task(case, "handle").due_at
    assert (second_due - first_due).total_seconds() > 3 * 3600  # four more working hours

    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=8, extension_reason="材料未到")
    assert driver.task(case, "approve_extension").scope_key == "110000/110101/"
    with pytest.raises(Forbidden):
        driver.do(case, "approve_extension", "leader_dhm", approval="approve")
    driver.session.rollback()
    driver.do(case, "approve_extension", "leader_district", approval="refuse", approval_note="请按期完成")
    assert driver.task(case, "handle").due_at == second_due


def test_parking_and_resuming(driver):
    case = driver.report()
    _to_handling(driver, case)
    driver.do(case, "handle", "handler_hw", action="park", park_reason="冬季施工暂停")
    assert case.stage == "parked" and driver.task(case, "parked").due_at is None
    driver.do(case, "parked", "handler_hw", resume_note="天气转好，恢复施工")
    assert case.stage == "handle"


def test_failed_verification_sends_the_case_back_for_rework(driver):
    case = driver.report()
    _to_handling(driver, case)
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result="fail", verify_note="现场仍有垃圾")
    assert [t.bpmn_id for t in driver.open_tasks(case)] == ["handle"]
    assert driver.task(case, "handle").scope_key == "dept:HW"
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已彻底清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    driver.do(case, "close", "leader_dhm")
    assert case.status == "closed"
    wf = driver.rt.workflows
    data = wf.data(wf.load_state(driver.rt.bundle(driver.session, case.process_version_id), case.state))
    assert data["rework_count"] == 1


def test_tasks_reach_only_the_right_role_and_scope(driver):
    case = driver.report()
    accept = driver.task(case, "accept")
    assert accept.id in [t.id for t in inbox(driver.session, driver.user("clerk_dhm"))]
    assert accept.id in [t.id for t in inbox(driver.session, driver.user("clerk_district"))]
    assert accept.id not in [t.id for t in inbox(driver.session, driver.user("clerk_js"))]
    assert accept.id not in [t.id for t in inbox(driver.session, driver.user("dispatch_dhm"))]
    with pytest.raises(NotFound):   # another street cannot even see it
        driver.do(case, "accept", "clerk_js", decision="file")
    driver.session.rollback()
    with pytest.raises(Forbidden):  # same street, wrong role
        driver.do(case, "accept", "dispatch_dhm", decision="file")


def test_every_field_error_is_reported_at_once_and_nothing_changes(driver):
    case = driver.report()
    task = driver.task(case, "accept")
    with pytest.raises(InputError) as err:
        case_service.complete_task(driver.session, driver.rt, driver.user("clerk_dhm"), task.id,
                                   {"decision": "approve", "accept_note": "x" * 501, "colour": "red"})
    driver.session.rollback()
    assert set(err.value.errors) == {"decision", "accept_note", "colour"}
    assert driver.task(case, "accept").id == task.id and len(driver.events(case)) == 1


def test_a_finished_task_and_a_stale_version_are_conflicts(driver):
    case = driver.report()
    task = driver.task(case, "accept")
    seen = case.version
    driver.do(case, "accept", "clerk_dhm", decision="file")
    with pytest.raises(Conflict):
        case_service.complete_task(driver.session, driver.rt, driver.user("clerk_district"), task.id,
                                   {"decision": "file"})
    dispatch = driver.task(case, "dispatch")
    with pytest.raises(Conflict):
        case_service.complete_task(driver.session, driver.rt, driver.user("dispatch_dhm"), dispatch.id,
                                   {"level": "street"}, expected_version=seen)


def test_a_lost_race_is_a_conflict_and_no_update_is_lost(driver):
    case = driver.report()
    task_id = driver.task(case, "accept").id
    other = driver.sessions()
    try:
        # The other session loads the case before our change commits ...
        from models import Task
        other_task = other.get(Task, task_id)
        assert other_task.case.version == case.version
        driver.do(case, "accept", "clerk_dhm", decision="file")
        # ... and its write, based on the old version, must fail rather than overwrite ours.
        from engine.assembly import make_runtime
        with pytest.raises(Conflict):
            case_service.complete_task(other, make_runtime(driver.rt.settings), driver.user_in(other, "clerk_district"),
                                       task_id, {"decision": "cancel", "cancel_reason": "invalid"})
        other.rollback()
    finally:
        other.close()
    driver.session.expire_all()
    assert case.status == "open" and case.stage == "dispatch"


def test_the_main_path_runs_from_stored_state_alone(demo_db, settings):
    """With the live-workflow cache off, every step starts from the deserialized state."""
    from tests.engine.conftest import Driver
    cold = Driver(demo_db, {**settings, "WORKFLOW_CACHE_SIZE": 0})
    try:
        case = cold.report("clerk_dhm", source="hotline")
        for bpmn_id, user, data in [
                ("accept", "clerk_dhm", {"decision": "file"}),
                ("dispatch", "dispatch_dhm", {"level": "department", "department_code": "HW"}),
                ("sign_for", "handler_hw", {"sign_decision": "sign"}),
                ("handle", "handler_hw", {"action": "done"}),
                ("feedback", "handler_hw", {"result": "已清运"}),
                ("callback", "clerk_dhm", {"satisfaction": "satisfied"}),
                ("verify", "grid_dhm_01", {"verify_result": "pass"}),
                ("close", "leader_dhm", {})]:
            cold.do(case, bpmn_id, user, **data)
        assert case.status == "closed"
    finally:
        cold.close()


@pytest.mark.parametrize("cache_size, loads", [(256, 0), (0, 1)])
def test_a_second_step_reuses_the_live_workflow_unless_the_cache_is_off(demo_db, settings, monkeypatch,
                                                                        cache_size, loads):
    from tests.engine.conftest import Driver
    d = Driver(demo_db, {**settings, "WORKFLOW_CACHE_SIZE": cache_size})
    try:
        case = d.report("clerk_dhm", source="hotline")
        d.do(case, "accept", "clerk_dhm", decision="file")
        calls = []
        load_state = d.rt.workflows.load_state
        monkeypatch.setattr(d.rt.workflows, "load_state", lambda *a: calls.append(a) or load_state(*a))
        task = d.task(case, "dispatch")
        case_service.complete_task(d.session, d.rt, d.user("dispatch_dhm"), task.id,
                                   {"level": "department", "department_code": "HW"})
        d.session.commit()
        assert case.stage == "sign" and len(calls) == loads
    finally:
        d.close()


def test_redispatch_away_from_a_department_clears_it_and_its_view(driver):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="SJ")
    assert case.department_code == "SJ"
    driver.do(case, "sign_for", "handler_sj", sign_decision="return", return_reason="不属于本部门")
    driver.do(case, "dispatch", "dispatch_dhm", level="street")
    assert case.department_code is None
    with pytest.raises(NotFound):
        case_service.get_case(driver.session, driver.user("handler_sj"), case.code)


def test_a_duplicate_link_only_applies_to_the_duplicate_decision(driver):
    original = driver.report()
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file", duplicate_of=original.code)
    assert case.duplicate_of_id is None and case.stage == "dispatch"
    other_street = driver.report("clerk_js", grid_code="110101002001001")
    dup = driver.report()
    with pytest.raises(InputError) as err:  # a case of another street is not the clerk's to name
        driver.do(dup, "accept", "clerk_dhm", decision="duplicate", duplicate_of=other_street.code,
                  accept_note="x" * 600)
    assert set(err.value.errors) == {"duplicate_of", "accept_note"}


def test_dispatch_to_an_unknown_department_is_refused(driver):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    with pytest.raises(InputError) as err:
        driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="hw")
    assert err.value.errors == {"department_code": ["No department has this code."]}
    assert driver.session.scalar(select(Case.stage).where(Case.id == case.id)) == "dispatch"  # nothing written
    driver.session.rollback()


def test_only_clerks_record_reports_from_other_channels(driver):
    with pytest.raises(InputError) as err:
        driver.report("grid_dhm_01", source="hotline")
    assert "source" in err.value.errors
    assert driver.report("grid_dhm_01").source == "patrol"
    assert driver.report("clerk_dhm", source="hotline").source == "hotline"
