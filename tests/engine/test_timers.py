"""SLA timers in the process: warnings, overdue, supervision, escalation, paused clocks,
fired by the sweep as time moves (time-machine, never sleep)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from engine.lifecycle import cases as case_service
from engine.errors import Conflict
from engine.lifecycle.sweep import fire_timers, retry_incident, sweep
from engine.spiff import ProcessError
from models import Case

from tests.timekeeping import at, local
from tests.engine.conftest import kinds, notified, sweep_at


def test_warning_overdue_supervision_and_escalation_fire_on_time(driver, clock, handling):
    case = handling
    assert local(driver.task(case, "handle").due_at) == datetime(2026, 11, 25, 15, 30)
    assert local(case.next_timer_at) == datetime(2026, 11, 25, 14, 42)  # 80 % of 4 working hours

    assert sweep_at(driver, clock, at(25, 14, 41)).fired == 0
    assert not case.at_risk
    sweep_at(driver, clock, at(25, 14, 43))
    assert case.at_risk and not case.overdue
    assert notified(driver, case, "warning") == {"handler_hw", "handler_hw2"}

    sweep_at(driver, clock, at(25, 15, 29))
    assert not case.overdue
    sweep_at(driver, clock, at(25, 15, 31))
    assert case.overdue and case.stage == "handle"       # the work goes on
    supervise = driver.task(case, "supervise")
    assert (supervise.role, supervise.scope_key) == ("supervisor", "110000/110101/110101001/")
    assert driver.task(case, "handle").status == "open"
    # The late task's people and the first level of handling's ladder (the community), not
    # every supervisor above the grid: the ladder tells the street and the district later.
    assert notified(driver, case, "overdue") == {"handler_hw", "handler_hw2", "comm_nanchizi"}

    sweep_at(driver, clock, at(25, 17, 31))                 # +2 working hours: the community
    assert case.escalation_level == 1
    assert notified(driver, case, "escalated") == {"comm_nanchizi"}
    sweep_at(driver, clock, at(26, 10, 31))                 # +4 working hours (overnight): the street
    assert case.escalation_level == 2
    assert notified(driver, case, "escalated") == {"comm_nanchizi", "super_dhm", "leader_dhm"}
    sweep_at(driver, clock, at(26, 13, 59))                 # the lunch break is not working time
    assert case.escalation_level == 2
    sweep_at(driver, clock, at(26, 14, 1))                  # +6 working hours: the district
    assert case.escalation_level == 3
    assert notified(driver, case, "escalated") == {"comm_nanchizi", "super_dhm", "leader_dhm",
                                                   "super_district", "leader_district"}
    assert kinds(driver, case, "warning", "overdue", "escalated") == [
        "warning", "overdue", "escalated", "escalated", "escalated"]
    assert [e.data["level"] for e in driver.events(case) if e.kind == "escalated"] == [
        "community", "street", "district"]

    sweep_at(driver, clock, at(26, 14, 1))                  # nothing fires twice
    assert len(kinds(driver, case, "escalated")) == 3
    driver.check_round_trip(case)

    driver.do(case, "supervise", "super_dhm", supervision_note="请环卫今日内清运", supervision_level="general")
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    driver.do(case, "close", "leader_dhm")
    # no stage timer is left; only the community's rating window (it ends quietly)
    assert case.status == "closed" and case.overdue
    assert case.next_timer_at == driver.task(case, "rate_unit").due_at


def test_closing_ends_an_open_supervision_task(driver, clock, handling):
    case = handling
    sweep_at(driver, clock, at(25, 15, 31))
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result="pass")
    assert {t.bpmn_id for t in driver.open_tasks(case)} == {"close", "supervise"}
    driver.do(case, "close", "leader_dhm")
    assert case.status == "closed" and [t.bpmn_id for t in driver.open_tasks(case)] == ["rate_unit"]


def test_completing_the_task_in_time_disarms_its_timers(driver, clock, handling):
    case = handling
    driver.do(case, "handle", "handler_hw", action="done")
    assert case.next_timer_at is None  # feedback has no timers
    sweep_at(driver, clock, at(26, 10, 0))
    assert not case.at_risk and not case.overdue and kinds(driver, case, "warning", "overdue") == []


def test_parking_stops_the_clock_and_resuming_gives_the_rest_back(driver, clock, handling):
    case = handling
    clock.move_to(at(25, 11))                                  # 1 of 4 working hours used
    driver.do(case, "handle", "handler_hw", action="park", park_reason="冬季施工暂停")
    assert case.next_timer_at is None
    sweep_at(driver, clock, at(25, 16))
    assert not case.overdue                                    # parked: nothing is late
    clock.move_to(at(26, 9))
    driver.do(case, "parked", "handler_hw", resume_note="恢复")
    assert local(driver.task(case, "handle").due_at) == datetime(2026, 11, 26, 12, 0)  # 3 h left
    change = [e for e in driver.events(case) if e.kind == "due_changed"][-1]
    assert change.data["sla"] == "handle" and change.data["reason"] == "挂账中"
    assert local(datetime.fromisoformat(change.data["old"])) == datetime(2026, 11, 25, 15, 30)
    assert local(datetime.fromisoformat(change.data["new"])) == datetime(2026, 11, 26, 12, 0)


def test_an_approved_extension_moves_the_deadline_and_a_refused_one_does_not(driver, clock, handling):
    case = handling
    clock.move_to(at(25, 11))
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=4, extension_reason="需调车")
    clock.move_to(at(25, 11, 30))
    driver.do(case, "approve_extension", "leader_dhm", approval="approve")
    assert local(driver.task(case, "handle").due_at) == datetime(2026, 11, 26, 10, 30)  # 15:30 + 4 h
    clock.move_to(at(25, 14))
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=8, extension_reason="材料未到")
    clock.move_to(at(25, 15))
    driver.do(case, "approve_extension", "leader_district", approval="refuse")
    assert local(driver.task(case, "handle").due_at) == datetime(2026, 11, 26, 10, 30)
    reasons = [e.data["reason"] for e in driver.events(case) if e.kind == "due_changed"]
    assert reasons == ["延期审批"]


def test_waiting_for_the_reporter_pauses_the_acceptance_clock(driver, clock):
    case = driver.report("clerk_dhm", source="app")
    assert local(driver.task(case, "accept").due_at) == datetime(2026, 11, 25, 11, 0)
    clock.move_to(at(25, 10, 30))
    driver.do(case, "accept", "clerk_dhm", decision="supplement", supplement_request="请补充门牌号")
    sweep_at(driver, clock, at(25, 16))
    assert not case.overdue
    clock.move_to(at(26, 9))
    case_service.deliver_message(driver.session, driver.rt, case, "supplement", {"text": "12号"})
    driver.session.commit()
    assert local(driver.task(case, "accept").due_at) == datetime(2026, 11, 26, 9, 30)  # the 30 min left


def test_the_sweep_takes_only_due_cases(driver, clock, handling):
    clock.move_to(at(25, 14, 40))
    later = driver.report()  # its acceptance warning is 48 minutes away
    seen = later.version
    sweep_at(driver, clock, at(25, 14, 43))
    assert handling.at_risk and later.version == seen


def test_a_case_moved_by_someone_else_is_not_fired_twice(driver, clock, handling):
    clock.move_to(at(25, 14, 43))
    other = driver.sessions()
    try:
        stale = other.get(Case, handling.id)               # a second sweeper read it ...
        assert sweep(driver.sessions, driver.rt).fired == 1  # ... the first one fired it
        with pytest.raises(Conflict):
            fire_timers(other, driver.rt.__class__(driver.rt.settings), stale)
        other.rollback()
    finally:
        other.close()
    driver.session.expire_all()
    assert kinds(driver, handling, "warning") == ["warning"]


def test_a_timer_that_fails_becomes_a_visible_incident_and_can_be_retried(driver, clock, handling, monkeypatch):
    original = driver.rt.workflows.fire_timers

    def broken(workflow):
        raise ProcessError("name 'handel_due' is not defined", element="handle_warn")
    monkeypatch.setattr(driver.rt.workflows, "fire_timers", broken)
    result = sweep_at(driver, clock, at(25, 14, 43))
    assert len(result.incidents) == 1 and "handel_due" in result.incidents[0]
    assert "handel_due" in handling.incident and kinds(driver, handling, "incident") == ["incident"]
    assert sweep_at(driver, clock, at(25, 14, 44)).incidents == []   # skipped, not retried in a loop
    monkeypatch.setattr(driver.rt.workflows, "fire_timers", original)
    retry_incident(driver.session, driver.rt, handling)
    driver.session.commit()
    assert handling.incident is None and handling.at_risk


def test_notifications_can_be_listed_and_marked_read(driver, clock, handling):
    from engine.outbound import notifications
    sweep_at(driver, clock, at(25, 14, 43))
    handler = driver.user("handler_hw")
    unread = notifications.unread(driver.session, handler.id)
    assert [n.kind for n in unread] == ["warning"] and handling.code in unread[0].message
    other = driver.user("handler_hw2")
    theirs = notifications.unread(driver.session, other.id)[0]
    assert notifications.mark_read(driver.session, handler.id, [unread[0].id, theirs.id], driver.rt.clock()) == 1
    driver.session.commit()
    assert notifications.unread(driver.session, handler.id) == []
    assert len(notifications.unread(driver.session, other.id)) == 1  # not someone else's to mark


def test_returns_and_extension_decisions_are_told_to_the_people_concerned(driver, clock, handling):
    from engine.outbound import notifications
    case = handling
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=2, extension_reason="需调车")
    driver.do(case, "approve_extension", "leader_dhm", approval="approve", approval_note="同意延期")
    told = notifications.unread(driver.session, driver.user("handler_hw").id)
    assert [n.kind for n in told] == ["notice"]
    assert told[0].message == f"案件 {case.code} 的延期申请已处理（approve）：同意延期"
    driver.do(case, "handle", "handler_hw", action="return", return_reason="应由园林处理")
    told = notifications.unread(driver.session, driver.user("dispatch_dhm").id)
    assert [n.message for n in told] == [f"案件 {case.code} 被处置单位回退，请重新派遣。回退理由：应由园林处理"]
    assert notifications.unread(driver.session, driver.user("dispatch_js").id) == []  # another street


def supervisions(driver, case):
    return [t for t in driver.open_tasks(case) if t.bpmn_id == "supervise"]


def levels(driver, case):
    return [e.data["level"] for e in driver.events(case) if e.kind == "escalated"]


def test_at_the_district_the_cycle_keeps_telling_the_district_until_the_work_is_done(driver, clock, handling):
    case = handling
    for moment in (at(25, 17, 31), at(26, 10, 31), at(26, 14, 1), at(26, 16, 1)):
        sweep_at(driver, clock, moment)
    assert levels(driver, case) == ["community", "street", "district", "district"]
    assert case.escalation_level == 3                       # the highest level reached, not a count
    assert local(case.next_timer_at) == datetime(2026, 11, 27, 9, 0)   # 16:00 + 2 working hours
    driver.do(case, "handle", "handler_hw", action="done")
    assert case.next_timer_at is None                       # completing the task disarms the cycle
    sweep_at(driver, clock, at(30, 12, 0))
    assert levels(driver, case) == ["community", "street", "district", "district"]


def test_a_refused_extension_of_an_overdue_case_repeats_no_escalation_and_opens_no_second_supervision(
        driver, clock, handling):
    case = handling
    sweep_at(driver, clock, at(25, 17, 31))                 # overdue (督办 opened), then the community
    assert len(supervisions(driver, case)) == 1 and levels(driver, case) == ["community"]
    clock.move_to(at(26, 9, 0))
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=4, extension_reason="需调车")
    clock.move_to(at(26, 9, 30))
    driver.do(case, "approve_extension", "leader_dhm", approval="refuse")
    sweep_at(driver, clock, at(26, 9, 31))                  # handle is open again, still past 15:30
    assert len(supervisions(driver, case)) == 1
    assert levels(driver, case) == ["community"]            # the community is not told twice
    assert local(case.next_timer_at) == datetime(2026, 11, 26, 10, 30)
    sweep_at(driver, clock, at(26, 10, 31))
    assert levels(driver, case) == ["community", "street"]  # the episode climbs on where it was
    driver.check_round_trip(case)


def test_rework_after_an_overdue_episode_opens_a_supervision_only_when_none_is_open(driver, clock, handling):
    case = handling
    sweep_at(driver, clock, at(25, 15, 31))                 # first overdue episode: 督办 opened
    clock.move_to(at(25, 16, 0))
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result="fail", verify_note="仍有垃圾")
    assert local(driver.task(case, "handle").due_at) == datetime(2026, 11, 26, 11, 0)  # a fresh limit
    sweep_at(driver, clock, at(26, 11, 1))                 # second episode while the 督办 is still open
    assert len(supervisions(driver, case)) == 1
    assert kinds(driver, case, "overdue") == ["overdue", "overdue"]
    sweep_at(driver, clock, at(26, 14, 31))                 # its escalations start again at the bottom
    assert levels(driver, case) == ["community"]

    driver.do(case, "supervise", "super_dhm", supervision_note="请环卫今日内清运", supervision_level="general")
    assert supervisions(driver, case) == []
    driver.do(case, "supervise_reply", "leader_dhm", supervision_reply="已督促环卫今日清运")  # no unit named: the street centre
    driver.do(case, "supervise_review", "super_dhm", supervision_review="adopt")   # the 督办 is done
    clock.move_to(at(26, 14, 45))
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result="fail", verify_note="仍有垃圾")
    sweep_at(driver, clock, at(27, 10, 31))                 # third episode: the last 督办 was done
    assert len(supervisions(driver, case)) == 1
    driver.check_round_trip(case)


def test_emergencies_escalate_on_the_plain_clock(driver, clock):
    clock.move_to(at(25, 16, 0))
    case = driver.report(category_code="E0401")             # 路面塌陷: an emergency, 24/7
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="CW")
    driver.do(case, "sign_for", "handler_cw", sign_decision="sign")
    due = driver.task(case, "handle").due_at
    sweep_at(driver, clock, due + timedelta(minutes=1))
    assert case.overdue
    assert case.next_timer_at == due + timedelta(hours=2)   # not two *working* hours
    sweep_at(driver, clock, due + timedelta(hours=2, minutes=1))
    sweep_at(driver, clock, due + timedelta(hours=4, minutes=1))
    assert levels(driver, case) == ["community", "street"]


def test_a_sweep_that_comes_late_sends_one_escalation_at_the_level_the_delay_has_reached(driver, clock, handling):
    case = handling
    sweep_at(driver, clock, at(25, 15, 31))
    sweep_at(driver, clock, at(26, 14, 1))                  # the sweepers were down for a day
    assert levels(driver, case) == ["district"]             # one message, not a burst of three
    assert case.escalation_level == 3
    assert local(case.next_timer_at) == datetime(2026, 11, 26, 16, 0)


def test_the_sweeps_audit_event_says_which_timers_fired(driver, clock, handling):
    sweep_at(driver, clock, at(25, 15, 31))  # handling was due at 15:30: warned and overdue at once
    timer_events = [e for e in driver.events(handling) if e.kind == "timer"]
    assert timer_events[-1].data["timers"] == ["handle_warn", "handle_overdue"]
    sweep_at(driver, clock, at(26, 8, 31))  # two working hours later: the first escalation
    assert [e for e in driver.events(handling) if e.kind == "timer"][-1].data["timers"] == ["handle_escalate"]


def test_a_timer_already_due_when_someone_acts_fires_in_that_step(driver, clock, handling):
    sweep_at(driver, clock, at(25, 15, 31))  # handling overdue: 督办 opens
    clock.move_to(at(26, 9, 0))  # the first escalation (Wednesday 17:30) is due; no sweep has run
    driver.do(handling, "supervise", "super_dhm", supervision_note="请尽快处置", supervision_level="general")
    assert kinds(driver, handling, "escalated") == ["escalated"]
    assert handling.next_timer_at is not None and handling.next_timer_at > at(26, 9, 0)
