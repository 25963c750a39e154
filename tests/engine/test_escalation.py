"""Escalation on a cycle at every timed stage, and no repeated overdue for the same due time
(time-machine, never sleep). A garbage case (E0102): 1 working hour each to accept, dispatch
and sign for, 4 to handle, 2 to verify; working hours 08:30–12:00 and 13:30–17:30."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from models import Notification

from tests.timekeeping import at, local
from tests.engine.conftest import kinds, notified, sweep_at

STREET = {"super_dhm", "leader_dhm"}
DISTRICT = {"super_district", "leader_district"}


def ladder(driver, case):
    """(stage, level) of every escalation so far."""
    return [(e.to_stage, e.data["level"]) for e in driver.events(case) if e.kind == "escalated"]


def test_a_late_acceptance_climbs_from_the_street_to_the_district_and_stops_when_accepted(driver, clock):
    case = driver.report()                                   # due 11:00
    sweep_at(driver, clock, at(25, 11, 1))
    assert case.overdue and case.escalation_level == 0
    sweep_at(driver, clock, at(25, 14, 29))                  # 11:00 + 2 working hours is 14:30
    assert ladder(driver, case) == []
    sweep_at(driver, clock, at(25, 14, 31))
    assert ladder(driver, case) == [("accept", "street")] and case.escalation_level == 2
    assert notified(driver, case, "escalated") == STREET     # the street centre, not a community
    sweep_at(driver, clock, at(25, 16, 31))
    assert ladder(driver, case)[-1] == ("accept", "district") and case.escalation_level == 3
    assert notified(driver, case, "escalated") == STREET | DISTRICT
    sweep_at(driver, clock, at(26, 9, 31))                   # the district hears every cycle
    assert [level for _, level in ladder(driver, case)] == ["street", "district", "district"]

    driver.do(case, "accept", "clerk_dhm", decision="file")  # dispatch due 10:31
    sweep_at(driver, clock, at(26, 10, 29))
    assert len(ladder(driver, case)) == 3                    # accepting disarmed the cycle
    driver.check_round_trip(case)


def test_a_late_dispatch_climbs_from_the_street_to_the_district_and_stops_when_dispatched(driver, clock):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")  # dispatch due 11:00
    for moment in (at(25, 11, 1), at(25, 14, 31), at(25, 16, 31)):
        sweep_at(driver, clock, moment)
    assert ladder(driver, case) == [("dispatch", "street"), ("dispatch", "district")]
    assert notified(driver, case, "escalated") == STREET | DISTRICT
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    assert local(case.next_timer_at) == datetime(2026, 11, 25, 17, 19)   # sign_for's warning (80 % of 1 h)
    sweep_at(driver, clock, at(25, 17, 20))
    assert len(ladder(driver, case)) == 2


def test_a_department_that_does_not_sign_for_is_chased_by_the_street_then_the_district(driver, clock):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")  # sign due 11:00
    sweep_at(driver, clock, at(25, 11, 1))
    # the unit that did not sign, and the street centre that dispatched to it (the ladder's first level)
    assert notified(driver, case, "overdue") == {"handler_hw", "handler_hw2", "super_dhm", "leader_dhm"}
    sweep_at(driver, clock, at(25, 14, 31))
    assert ladder(driver, case) == [("sign", "street")]
    assert "comm_nanchizi" not in notified(driver, case, "escalated")   # a community cannot chase 环卫
    sweep_at(driver, clock, at(25, 16, 31))
    assert ladder(driver, case) == [("sign", "street"), ("sign", "district")]
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")     # handling due 26 11:00
    sweep_at(driver, clock, at(26, 9, 31))                              # the sign-for cycle would be here
    assert len(ladder(driver, case)) == 2


def test_a_late_verification_tells_the_grid_workers_community_then_the_street_then_the_district(
        driver, clock, handling):
    case = handling
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")            # verify due 12:00
    sweep_at(driver, clock, at(25, 12, 1))
    assert case.overdue and case.stage == "verify"
    sweep_at(driver, clock, at(25, 15, 29))                            # 12:00 + 2 working hours is 15:30
    assert ladder(driver, case) == []
    sweep_at(driver, clock, at(25, 15, 31))
    assert ladder(driver, case) == [("verify", "community")] and case.escalation_level == 1
    assert notified(driver, case, "escalated") == {"comm_nanchizi"}
    sweep_at(driver, clock, at(25, 17, 31))
    sweep_at(driver, clock, at(26, 10, 31))
    assert [level for _, level in ladder(driver, case)] == ["community", "street", "district"]
    assert notified(driver, case, "escalated") == {"comm_nanchizi"} | STREET | DISTRICT
    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    sweep_at(driver, clock, at(27, 10, 0))
    assert len(ladder(driver, case)) == 3
    driver.check_round_trip(case)


def overdue_notices(driver, case, username):
    user = driver.user(username)
    return len(driver.session.scalars(select(Notification).where(
        Notification.case_id == case.id, Notification.user_id == user.id, Notification.kind == "overdue")).all())


def test_handling_entered_again_with_the_same_due_time_is_not_reported_overdue_twice(driver, clock, handling):
    case = handling
    sweep_at(driver, clock, at(25, 14, 43))
    sweep_at(driver, clock, at(25, 15, 31))                  # warned, then overdue: 督办 opened
    clock.move_to(at(25, 16, 0))
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=4, extension_reason="需调车")
    driver.do(case, "approve_extension", "leader_dhm", approval="refuse")
    sweep_at(driver, clock, at(25, 16, 1))                   # handle is open again, due still 15:30
    assert kinds(driver, case, "warning", "overdue") == ["warning", "overdue"]
    assert overdue_notices(driver, case, "handler_hw") == 1
    assert overdue_notices(driver, case, "comm_nanchizi") == 1   # handling's first level: the community
    assert case.overdue and len([t for t in driver.open_tasks(case) if t.bpmn_id == "supervise"]) == 1

    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=2, extension_reason="需调车")
    driver.do(case, "approve_extension", "leader_dhm", approval="approve")   # a new due time: 17:30
    sweep_at(driver, clock, at(25, 17, 31))
    assert kinds(driver, case, "overdue") == ["overdue", "overdue"]        # late again: told again
    driver.check_round_trip(case)


def test_a_warning_that_comes_after_the_due_time_is_not_sent(driver, clock, handling):
    case = handling
    sweep_at(driver, clock, at(25, 15, 31))                  # the sweepers were down from 14:42 to 15:31
    assert kinds(driver, case, "warning", "overdue") == ["overdue"]


def test_a_refused_extension_before_the_due_time_marks_the_case_at_risk_again(driver, clock, handling):
    case = handling
    sweep_at(driver, clock, at(25, 14, 43))
    clock.move_to(at(25, 14, 50))
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=4, extension_reason="需调车")
    driver.do(case, "approve_extension", "leader_dhm", approval="refuse")
    sweep_at(driver, clock, at(25, 14, 51))
    # Re-opening a timed task clears the at-risk mark; its warning, already due, sets it again.
    assert case.at_risk and not case.overdue
    assert kinds(driver, case, "warning") == ["warning", "warning"]
