"""督办 for a case late in any timed stage: one open at a time, alongside the work, ended by
closing (time-machine, never sleep). A garbage case (E0102): 1 working hour each to accept,
dispatch and sign for, 4 to handle, 2 to verify; working hours 08:30–12:00 and 13:30–17:30."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.errors import InputError
from engine.lifecycle.tasks import task_details
from engine.queries import search
from engine.queries.board import supervision_board
from models import Notification, Task, User

from tests.timekeeping import at, local
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
    driver.do(case, "supervise", "super_dhm", supervision_unit="", supervision_note="请受理员立即受理",
              supervision_level="general")                    # to the street centre: reply due 14:40
    assert supervisions(driver, case) == []

    sweep_at(driver, clock, at(25, 14, 31))                  # acceptance still late: the ladder goes on ...
    assert [e.data["level"] for e in driver.events(case) if e.kind == "escalated"] == ["street"]
    assert supervisions(driver, case) == []                  # ... and the 督办 already issued is not repeated

    clock.move_to(at(25, 14, 35))
    driver.do(case, "supervise_reply", "leader_dhm", supervision_reply="已督促受理员受理")
    driver.do(case, "supervise_review", "super_dhm", supervision_review="adopt")   # the order is done
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
    driver.do(case, "supervise", "super_dhm", supervision_unit="HW", supervision_note="请环卫按时签收",
              supervision_level="general")
    driver.do(case, "supervise_reply", "handler_hw", supervision_reply="已签收")
    driver.do(case, "supervise_review", "super_dhm", supervision_review="adopt")

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


# -- the order, its reply and its review ---------------------------------------------------------
def notices(driver, case, username):
    rows = driver.session.execute(select(Notification.message).join(User, Notification.user_id == User.id)
                                  .where(Notification.case_id == case.id, Notification.kind == "notice",
                                         User.username == username).order_by(Notification.id)).scalars()
    return list(rows)


def notified_at(driver, case, kind, moment):
    """Who got a notification of this kind in the step at ``moment``."""
    return set(driver.session.execute(select(User.username).join(Notification, Notification.user_id == User.id)
                                      .where(Notification.case_id == case.id, Notification.kind == kind,
                                             Notification.created_at == moment)).scalars())


def late_handling(driver, clock):
    """A garbage case signed for by 环卫 at 10:00 (handling due 15:30), late at 15:31 with its 督办 open."""
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")
    sweep_at(driver, clock, at(25, 15, 31))
    return case


def test_an_order_goes_to_the_department_which_replies_until_the_supervisor_adopts_the_reply(driver, clock):
    case = late_handling(driver, clock)
    [supervise] = supervisions(driver, case)
    # the order offers the case's department (declared prefill) and records which stage was late
    form = task_details(driver.session, driver.rt, driver.user("super_dhm"), supervise.id)
    assert form.values["supervision_unit"] == "HW" and form.values["supervision_level"] == "general"
    assert supervise.facts["supervision_late_stage"] == "handle"
    assert datetime.fromisoformat(supervise.facts["supervision_late_due"]) == at(25, 15, 30)
    board = supervision_board(driver.session, driver.user("super_district"), now=at(25, 15, 40),
                              policy=driver.rt.policy, calendar=driver.rt.calendar)
    [row] = board.supervision.rows
    assert (row.task.id, row.department.code, row.street.code, row.late_stage, row.reply_late) == (
        supervise.id, "HW", "110101001", "handle", False)
    assert row.overdue_hours == pytest.approx(10 / 60)       # handling was due 15:30

    clock.move_to(at(25, 15, 40))
    driver.do(case, "supervise", "super_dhm", supervision_unit="HW", supervision_note="今日内清运完毕",
              supervision_level="key")                       # 重点督办: 2 working hours, due 08:40 tomorrow
    reply = driver.task(case, "supervise_reply")
    assert (reply.role, reply.scope_key, local(reply.due_at)) == ("department_handler", "dept:HW",
                                                                  datetime(2026, 11, 26, 8, 40))
    assert reply.facts["supervision_level_name"] == "重点督办"
    assert notices(driver, case, "handler_hw") == [
        f"案件 {case.code} 收到重点督办，请在 2026-11-26 08:40 前答复。督办要求：今日内清运完毕"]
    assert notified(driver, case, "notice") == {"handler_hw", "handler_hw2"}   # the addressee's handlers only
    assert case.stage == "handle"                             # the 督办 is beside the work

    clock.move_to(at(25, 16, 0))
    driver.do(case, "supervise_reply", "handler_hw", supervision_reply="已安排车辆，17:00 前清运")
    review = driver.task(case, "supervise_review")
    assert (review.role, review.scope_key) == ("supervisor", STREET_SCOPE)
    view = task_details(driver.session, driver.rt, driver.user("super_dhm"), review.id)
    assert ("supervision_reply", "已安排车辆，17:00 前清运") in [(f.variable, f.value) for f in view.facts]

    clock.move_to(at(25, 16, 10))
    driver.do(case, "supervise_review", "super_dhm", supervision_review="send_back",
              supervision_review_note="请附清运后照片")        # another round, a fresh clock: 09:10
    again = driver.task(case, "supervise_reply")
    assert again.id != reply.id and local(again.due_at) == datetime(2026, 11, 26, 9, 10)
    assert notices(driver, case, "handler_hw")[1:] == [
        f"案件 {case.code} 的督办答复被退回，请重新答复。退回理由：请附清运后照片",
        f"案件 {case.code} 收到重点督办，请在 2026-11-26 09:10 前答复。督办要求：今日内清运完毕"]
    assert ("supervision_review_note", "请附清运后照片") in [
        (f.variable, f.value) for f in task_details(driver.session, driver.rt, driver.user("handler_hw"), again.id).facts]

    driver.do(case, "supervise_reply", "handler_hw2", supervision_reply="已清运，照片见附件")
    driver.do(case, "supervise_review", "super_dhm", supervision_review="adopt")
    assert [t.bpmn_id for t in driver.open_tasks(case)] == ["handle"]
    rounds = [(e.task_bpmn_id, e.data) for e in driver.events(case) if e.kind == "task_completed"
              and e.task_bpmn_id.startswith("supervise")]
    assert rounds == [
        ("supervise", {"supervision_unit": "HW", "supervision_note": "今日内清运完毕", "supervision_level": "key"}),
        ("supervise_reply", {"supervision_reply": "已安排车辆，17:00 前清运"}),
        ("supervise_review", {"supervision_review": "send_back", "supervision_review_note": "请附清运后照片"}),
        ("supervise_reply", {"supervision_reply": "已清运，照片见附件"}),
        ("supervise_review", {"supervision_review": "adopt"}),
    ]
    driver.check_round_trip(case)


def test_a_send_back_needs_its_reason_and_an_unknown_addressee_is_refused(driver, clock):
    case = late_handling(driver, clock)
    with pytest.raises(InputError) as err:
        driver.do(case, "supervise", "super_dhm", supervision_unit="ZZ", supervision_note="", supervision_level="top")
    assert set(err.value.errors) == {"supervision_unit", "supervision_note", "supervision_level"}
    driver.do(case, "supervise", "super_dhm", supervision_unit="HW", supervision_note="请清运", supervision_level="general")
    driver.do(case, "supervise_reply", "handler_hw", supervision_reply="已清运")
    with pytest.raises(InputError) as err:
        driver.do(case, "supervise_review", "super_dhm", supervision_review="send_back")
    assert set(err.value.errors) == {"supervision_review_note"}
    assert driver.task(case, "supervise_review").status == "open"


def test_a_late_reply_warns_escalates_and_never_makes_the_case_late(driver, clock):
    case = driver.report()                                   # accept due 11:00
    sweep_at(driver, clock, at(25, 11, 1))
    clock.move_to(at(25, 11, 5))
    driver.do(case, "accept", "clerk_dhm", decision="file")
    clock.move_to(at(25, 11, 10))
    # 挂牌督办 to the street centre (no department named): 1 working hour, due 13:40
    driver.do(case, "supervise", "super_dhm", supervision_unit="", supervision_note="说明受理超时原因",
              supervision_level="listed")
    reply = driver.task(case, "supervise_reply")
    assert (reply.role, reply.scope_key, local(reply.due_at)) == ("shift_leader", STREET_SCOPE,
                                                                  datetime(2026, 11, 25, 13, 40))
    clock.move_to(at(25, 11, 20))
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")  # sign due 13:50
    assert local(case.due_at) == datetime(2026, 11, 25, 13, 50)   # the work's due time, not the reply's

    sweep_at(driver, clock, at(25, 11, 59))                  # the reply's warning (80 %: 11:58)
    assert notified_at(driver, case, "warning", at(25, 11, 59)) == {"leader_dhm", "leader_district"}
    assert not case.at_risk

    sweep_at(driver, clock, at(25, 13, 41))                  # the reply is late; the case is not
    # the reply's people and the street (its ladder's first level)
    assert notified_at(driver, case, "overdue", at(25, 13, 41)) == {"leader_dhm", "leader_district", "super_dhm"}
    overdue_marks = [e.data["stage"] for e in driver.events(case) if e.kind == "overdue"]
    assert overdue_marks == ["accept", "supervise_reply"]
    clock.move_to(at(25, 13, 45))
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")   # handling due 08:45 tomorrow

    sweep_at(driver, clock, at(25, 15, 41))                  # one escalation cycle after the reply's due time
    assert [e.data["level"] for e in driver.events(case) if e.kind == "escalated"][-1:] == ["district"]
    assert notified_at(driver, case, "escalated", at(25, 15, 41)) == {"super_district", "leader_district"}
    assert case.escalation_level == 3
    now = at(25, 15, 41)
    assert local(case.due_at) == datetime(2026, 11, 26, 8, 45) and not case.at_risk
    found = search.search_cases(driver.session, driver.rt, driver.user("super_district"),
                                search.CaseFilter(flag="overdue"), now=now)
    assert found.total == 0
    board = supervision_board(driver.session, driver.user("super_dhm"), now=now, policy=driver.rt.policy,
                              calendar=driver.rt.calendar)
    assert board.overdue == 0 and board.by_department == []
    [row] = board.supervision.rows
    assert (row.task.stage, row.reply_late, row.late_stage, row.street.code) == ("supervise_reply", True, "accept",
                                                                                 "110101001")
    # on time now; the street centre was ordered, although the case is 环卫's since dispatch
    assert row.overdue_hours is None and row.department is None and case.department_code == "HW"
