"""Impact simulation over cases the engine made: a routing change moves exactly the dispatched cases
of its category, a shorter time limit turns an on-time closing late, a changed flow makes a recorded
case stop at the element that wants what history has no answer for, and nothing is written."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.errors import InputError
from engine.lifecycle.simulation import simulate
from engine.process import deploy as process_service
from models import Case, CaseEvent, Task

from tests.engine.conftest import GARBAGE, ILLEGAL_BUILD


def files(driver) -> dict[str, str]:
    return process_service.read_files([driver.rt.settings["PROCESSES_DIR"]])


def run(driver, changed: dict[str, str], days: int = 30):
    with driver.sessions() as session:
        result = simulate(session, driver.rt, changed, days)
        session.rollback()
    return result, result.summary()


def by_code(result):
    return {c.code: c for c in result.cases}


def dispatch(driver, case, department):
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code=department)


def to_closed(driver, clock, case, handled_after: timedelta):
    driver.do(case, "sign_for", "handler_hw" if case.department_code == "HW" else "handler_cg", sign_decision="sign")
    clock.shift(handled_after)
    who = "handler_hw" if case.department_code == "HW" else "handler_cg"
    driver.do(case, "handle", who, action="done")
    driver.do(case, "feedback", who, result="已清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    driver.do(case, "close", "leader_dhm", close_note="结案")


def test_a_routing_change_moves_exactly_the_dispatched_cases_of_its_category(driver, clock):
    garbage = driver.report(category_code=GARBAGE)
    dispatch(driver, garbage, "HW")
    building = driver.report(category_code=ILLEGAL_BUILD)
    dispatch(driver, building, "CG")
    waiting = driver.report(category_code=ILLEGAL_BUILD)          # still in acceptance
    draft = files(driver)
    draft["routing.dmn"] = draft["routing.dmn"].replace('"CG"', '"HW"', 1)   # 私搭乱建 → 环卫

    result, summary = run(driver, draft)

    cases = by_code(result)
    assert (summary["cases"], summary["dispatched"], summary["not_dispatched"]) == (3, 2, 1)
    assert summary["department_changes"] == 1
    assert (cases[building.code].route_from, cases[building.code].route_to) == ("CG", "HW")
    assert (cases[garbage.code].route_from, cases[garbage.code].route_to) == ("HW", "HW")
    assert not cases[waiting.code].dispatched and cases[waiting.code].route_to == "HW"
    assert ["CG", "HW", 1] in summary["routing"] and ["HW", "HW", 1] in summary["routing"]
    assert summary["decisions"] == {"routing": 2}     # the waiting case's recommendation changes too
    assert summary["flow"]["same"] == 3 and summary["deadline_changes"] == 0


def test_a_shorter_time_limit_turns_an_on_time_closing_late_and_moves_the_deadline(driver, clock):
    on_time = driver.report(category_code=GARBAGE)       # 4 working hours to handle
    dispatch(driver, on_time, "HW")
    to_closed(driver, clock, on_time, timedelta(hours=3))
    quick = driver.report(category_code=GARBAGE)
    dispatch(driver, quick, "HW")
    to_closed(driver, clock, quick, timedelta(hours=1))
    recorded = {t.bpmn_id: t.due_at for t in driver.session.scalars(select(Task).where(Task.case_id == on_time.id))}
    draft = files(driver)
    draft["sla.dmn"] = draft["sla.dmn"].replace('<outputEntry id="sla_E0102_normal_out4">\n          <text>4</text>',
                                                '<outputEntry id="sla_E0102_normal_out4">\n          <text>2</text>')

    result, summary = run(driver, draft)

    cases = by_code(result)
    assert cases[on_time.code].closing == "on_time_to_late"
    assert cases[quick.code].closing is None                   # handled within 2 hours as well
    assert (summary["on_time_to_late"], summary["late_to_on_time"]) == (1, 0)
    (task, visit, old, new), = cases[on_time.code].deadlines
    assert (task, visit) == ("handle", 0)
    assert old == recorded["handle"].isoformat()
    # Two working hours from when handling started, by the calendar, exactly as the engine would.
    started = driver.session.scalars(select(Task.created_at).where(Task.case_id == on_time.id,
                                                                   Task.bpmn_id == "handle")).one()
    assert new == driver.rt.calendar.add(started, hours=2).isoformat()
    assert summary["deadlines"] == {"handle": {"later": 0, "earlier": 2}}
    assert summary["decisions"] == {"sla_lookup": 2} and summary["flow"]["same"] == 2


def test_a_new_required_field_stops_the_recorded_case_at_its_task(driver, clock):
    case = driver.report(category_code=GARBAGE)
    dispatch(driver, case, "HW")
    to_closed(driver, clock, case, timedelta(hours=1))
    early = driver.report(category_code=GARBAGE)           # not yet at feedback: nothing stops it
    draft = files(driver)
    draft["grid_case.bpmn"] = draft["grid_case.bpmn"].replace(
        '<camunda:formField id="result" label="处置结果" type="string">',
        '<camunda:formField id="cause" label="问题原因" type="string"><camunda:validation>'
        '<camunda:constraint name="required" /></camunda:validation></camunda:formField>'
        '<camunda:formField id="result" label="处置结果" type="string">', 1)

    result, summary = run(driver, draft)

    stopped = by_code(result)[case.code]
    assert (stopped.flow, stopped.flow_element) == ("stops", "feedback")
    assert stopped.flow_detail["reason"] == "refused" and list(stopped.flow_detail["errors"]) == ["cause"]
    assert by_code(result)[early.code].flow == "same"
    assert ["stops", "feedback", 1] in summary["flow"]["where"]


def test_a_changed_condition_takes_another_path_after_its_gateway(driver, clock):
    case = driver.report("clerk_dhm", source="hotline", reporter_phone="13900001111", category_code=GARBAGE)
    dispatch(driver, case, "HW")
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    driver.do(case, "callback", "clerk_dhm", satisfaction="satisfied")
    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    draft = files(driver)
    draft["grid_case.bpmn"] = draft["grid_case.bpmn"].replace(
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">resident_report</bpmn:conditionExpression>',
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">False</bpmn:conditionExpression>', 1)

    result, _ = run(driver, draft)

    parted = by_code(result)[case.code]
    assert (parted.flow, parted.flow_element) == ("other_path", "gw_callback")
    assert (parted.flow_detail["case"], parted.flow_detail["draft"]) == ("callback", "clock_verify_join")


def test_alike_cases_are_replayed_once_and_the_period_counts(driver, clock):
    for _ in range(3):
        dispatch(driver, driver.report(category_code=GARBAGE), "HW")
    old = driver.report(category_code=GARBAGE)
    driver.session.execute(Case.__table__.update().where(Case.id == old.id)
                           .values(created_at=old.created_at - timedelta(days=10)))
    driver.session.commit()

    result, summary = run(driver, files(driver), days=7)

    assert summary["cases"] == 3 and result.groups == 1      # the older case lies outside 7 days
    assert summary["department_changes"] == 0 and summary["flow"]["same"] == 3


def test_simulation_writes_nothing(driver, clock):
    case = driver.report(category_code=ILLEGAL_BUILD)
    dispatch(driver, case, "CG")
    driver.report(category_code=GARBAGE)
    session = driver.session

    def snapshot():
        session.expire_all()
        counts = {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in (Case, Task, CaseEvent)}
        rows = sorted(session.execute(select(Case.id, Case.version, Case.stage, Case.status, Case.state,
                                             Case.process_version_id, Case.updated_at)).all())
        tasks = sorted(session.execute(select(Task.id, Task.status, Task.version, Task.due_at)).all())
        return counts, rows, tasks

    before = snapshot()
    draft = files(driver)
    draft["routing.dmn"] = draft["routing.dmn"].replace('"CG"', '"HW"', 1)
    run(driver, draft)
    assert snapshot() == before


def test_a_broken_draft_is_refused_naming_the_file_and_the_rule(driver, clock):
    draft = files(driver)
    draft["grid_case.bpmn"] = draft["grid_case.bpmn"].replace(
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">resident_report</bpmn:conditionExpression>',
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">resident_reprot</bpmn:conditionExpression>', 1)
    with pytest.raises(InputError) as refused:
        run(driver, draft)
    assert any("resident_reprot" in p and "gw_callback" in p for p in refused.value.errors["files"])
