"""督办 for a case late in any timed stage: one open at a time, alongside the work, ended by
closing (time-machine, never sleep). A garbage case (E0102): 1 working hour each to accept,
dispatch and sign for, 4 to handle, 2 to verify; working hours 08:30–12:00 and 13:30–17:30."""
from __future__ import annotations

from sqlalchemy import select

from models import Task

from tests.timekeeping import at
from tests.engine.conftest import kinds, notified, sweep_at

STREET_SCOPE = "110000/110101/110101001/"   # 东华门街道


def supervisions(driver, case):
    return [t for t in driver.open_tasks(case) if t.bpmn_id == "supervise"]


def supervisions_ever(driver, case):
    return driver.session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == "supervise")).all()


def test_a_late_acceptance_opens_one_supervision_that_outlives_the_acceptance(driver, clock):
    case = driver.report()                                   # accept due 11:00
    sweep_at(driver, clock, at(25, 11, 1))
    assert case.overdue and case.stage == "accept"           # the work goes on
    [supervise] = supervisions(driver, case)
    assert (supervise.role, supervise.scope_key) == ("supervisor", STREET_SCOPE)
    assert driver.task(case, "accept").status == "open"
    # the clerks who may accept it, and the street centre (acceptance's first level); not the district yet
    assert notified(driver, case, "overdue") == {"clerk_dhm", "clerk_district", "super_dhm", "leader_dhm"}

    clock.move_to(at(25, 11, 30))
    driver.do(case, "accept", "clerk_dhm", decision="file")  # dispatch due 14:00 (lunch break)
    assert case.stage == "dispatch" and supervisions(driver, case) == [supervise]

    sweep_at(driver, clock, at(25, 14, 1))                   # a second stage late, the 督办 still open
    assert kinds(driver, case, "overdue") == ["overdue", "overdue"]
    assert supervisions(driver, case) == [supervise]         # no second 督办
    driver.check_round_trip(case)


def test_a_done_supervision_is_not_reopened_by_the_same_lateness_but_a_later_stage_opens_a_new_one(
        driver, clock):
    case = driver.report()
    sweep_at(driver, clock, at(25, 11, 1))
    clock.move_to(at(25, 11, 10))
    driver.do(case, "supervise", "super_dhm", supervision_note="请受理员立即受理")
    assert supervisions(driver, case) == []

    sweep_at(driver, clock, at(25, 14, 31))                  # acceptance still late: the ladder goes on ...
    assert [e.data["level"] for e in driver.events(case) if e.kind == "escalated"] == ["street"]
    assert supervisions(driver, case) == []                  # ... and the 督办 already issued is not repeated

    clock.move_to(at(25, 14, 40))
    driver.do(case, "accept", "clerk_dhm", decision="file")  # dispatch due 15:40
    sweep_at(driver, clock, at(25, 15, 41))
    assert len(supervisions(driver, case)) == 1              # a new lateness, a new 督办
    assert len(supervisions_ever(driver, case)) == 2
    driver.check_round_trip(case)


def test_late_sign_for_and_late_verification_each_open_a_supervision_and_closing_ends_the_open_one(
        driver, clock):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")  # sign due 11:00
    sweep_at(driver, clock, at(25, 11, 1))
    [supervise] = supervisions(driver, case)
    assert (supervise.role, supervise.scope_key) == ("supervisor", STREET_SCOPE)
    clock.move_to(at(25, 11, 10))
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")
    driver.do(case, "supervise", "super_dhm", supervision_note="请环卫按时签收")

    clock.move_to(at(25, 14, 0))
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")  # a patrol report: verify due 16:00
    sweep_at(driver, clock, at(25, 16, 1))
    assert case.stage == "verify" and len(supervisions(driver, case)) == 1
    assert kinds(driver, case, "overdue") == ["overdue", "overdue"]

    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    assert {t.bpmn_id for t in driver.open_tasks(case)} == {"close", "supervise"}
    driver.do(case, "close", "leader_dhm")
    # the 督办 ends; only the community's rating of the department remains
    assert case.status == "closed" and [t.bpmn_id for t in driver.open_tasks(case)] == ["rate_unit"]
    assert [t.status for t in supervisions_ever(driver, case)] == ["completed", "cancelled"]
