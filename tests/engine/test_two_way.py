"""Two-way assessment: after a case is finally closed its community rates the department that
handled it (5 working days, ending quietly); the ratings feed each department's two-way figures,
which each viewer sees within their scope."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.assessment.twoway import department_ratings, two_way_figures
from engine.errors import InputError
from engine.lifecycle import cases as case_service
from models import UnitRating

from tests.engine.conftest import sweep_at
from tests.timekeeping import at

TO_CLOSE = [("accept", "clerk_dhm", {"decision": "file"}),
            ("dispatch", "dispatch_dhm", {"level": "department", "department_code": "HW"}),
            ("sign_for", "handler_hw", {"sign_decision": "sign"}),
            ("handle", "handler_hw", {"action": "done"}),
            ("feedback", "handler_hw", {"result": "已清运"}),
            ("verify", "grid_dhm_01", {"verify_result": "pass"}),
            ("close", "leader_dhm", {"close_note": "结案"})]
NOV = (date(2026, 11, 1), date(2026, 11, 30))


def closed_case(driver, department="HW", **report):
    case = driver.report(**report)
    for bpmn_id, user, data in TO_CLOSE:
        if bpmn_id == "dispatch":
            data = {**data, "department_code": department}
        if bpmn_id == "sign_for" or bpmn_id in ("handle", "feedback"):
            user = {"HW": "handler_hw", "CG": "handler_cg"}[department]
        driver.do(case, bpmn_id, user, **data)
    return case


def test_after_closing_the_community_rates_the_handling_department(driver, clock):
    case = closed_case(driver)
    assert (case.status, case.stage) == ("closed", "unit_rating")
    task = driver.task(case, "rate_unit")
    assert (task.role, task.scope_key) == ("department_handler", "110000/110101/110101001/110101001001/")
    assert task.due_at == at(2, 10).replace(month=12)       # 5 working days from Wednesday 10:00
    driver.do(case, "rate_unit", "comm_nanchizi", unit_rating="satisfied")
    assert (case.status, case.stage) == ("closed", "closed") and driver.open_tasks(case) == []
    row = driver.session.scalars(select(UnitRating)).one()
    assert (row.department_code, row.rating, row.community_path) == ("HW", "satisfied", task.scope_key)


def test_a_dissatisfied_rating_needs_a_reason(driver, clock):
    case = closed_case(driver)
    task = driver.task(case, "rate_unit")
    with pytest.raises(InputError) as raised:
        case_service.complete_task(driver.session, driver.rt, driver.user("comm_nanchizi"), task.id,
                                   {"unit_rating": "dissatisfied"})
    driver.session.rollback()
    assert "unit_rating_reason" in raised.value.errors
    assert driver.session.scalars(select(UnitRating)).all() == []
    driver.do(case, "rate_unit", "comm_nanchizi", unit_rating="dissatisfied", unit_rating_reason="清运不及时")
    assert driver.session.scalars(select(UnitRating.reason)).one() == "清运不及时"


def test_another_community_or_the_department_cannot_rate(driver, clock):
    case = closed_case(driver)
    task = driver.task(case, "rate_unit")
    for username in ("comm_dengshikou", "handler_hw"):
        with pytest.raises(Exception):
            case_service.complete_task(driver.session, driver.rt, driver.user(username), task.id,
                                       {"unit_rating": "satisfied"})
        driver.session.rollback()


def test_an_unrated_case_ends_quietly_after_five_working_days(driver, clock):
    case = closed_case(driver)
    sweep_at(driver, clock, at(2, 9, 59).replace(month=12))
    assert case.stage == "unit_rating"
    sweep_at(driver, clock, at(2, 10, 1).replace(month=12))
    assert (case.status, case.stage, case.next_timer_at) == ("closed", "closed", None)
    assert not case.overdue and not case.at_risk and case.escalation_level == 0
    assert driver.open_tasks(case) == []
    assert {e.kind for e in driver.events(case)} & {"warning", "overdue", "escalated"} == set()


def test_a_case_the_grid_handled_itself_is_not_rated(driver, clock):
    case = driver.report(self_handled=True)
    driver.do(case, "verify", "comm_nanchizi", verify_result="pass")
    driver.do(case, "close", "leader_dhm")
    assert (case.status, case.stage) == ("closed", "closed")


def test_each_department_gets_its_figures_and_each_viewer_sees_their_scope(driver, clock):
    ratings = [("HW", "satisfied"), ("HW", "basically"), ("HW", "dissatisfied"), ("CG", "satisfied")]
    for department, rating in ratings:
        case = closed_case(driver, department)
        driver.do(case, "rate_unit", "comm_nanchizi", unit_rating=rating, unit_rating_reason="慢")
    district = two_way_figures(driver.session, driver.rt, driver.user("leader_district"), *NOV)
    assert [(d.code, d.rated, d.satisfied, d.basically, d.dissatisfied, d.rating_score) for d in district] == [
        ("CG", 1, 1, 0, 0, 1.0), ("HW", 3, 1, 1, 1, 0.6)]           # (1 + 0.8 + 0) / 3
    assert [d.code for d in two_way_figures(driver.session, driver.rt, driver.user("handler_hw"), *NOV)] == ["HW"]
    assert two_way_figures(driver.session, driver.rt, driver.user("leader_js"), *NOV) == []  # another street
    assert two_way_figures(driver.session, driver.rt, driver.user("leader_dhm"), date(2026, 12, 1),
                           date(2026, 12, 31)) == []
    behind = department_ratings(driver.session, driver.rt, driver.user("super_dhm"), "HW", *NOV)
    assert sorted(r.rating for r in behind) == ["basically", "dissatisfied", "satisfied"]
    with pytest.raises(InputError) as raised:
        two_way_figures(driver.session, driver.rt, driver.user("leader_district"), date(2026, 11, 30),
                        date(2026, 11, 1))
    assert list(raised.value.errors) == ["to"]
