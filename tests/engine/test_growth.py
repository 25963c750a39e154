"""A case left late for months stays small: the escalation that repeats every two working hours
does not pile finished paths into the workflow state, nor a notice per cycle into inboxes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from models import Notification

from tests.engine.conftest import sweep_at


def _late_for(driver, clock, case, working_days: int):
    """Sweep at every timer of ``case`` for that many working days past its due time."""
    end = driver.rt.calendar.add(case.due_at, days=working_days)
    sweeps = 0
    while case.next_timer_at is not None and case.next_timer_at < end:
        sweep_at(driver, clock, case.next_timer_at + timedelta(minutes=1))
        sweeps += 1
    return end, sweeps


def _escalations(driver, case) -> int:
    return len([e for e in driver.events(case) if e.kind == "escalated"])


def test_a_case_late_in_handling_for_sixty_working_days_keeps_its_state_under_8_kb(driver, clock, handling):
    case = handling
    end, sweeps = _late_for(driver, clock, case, 60)
    assert sweeps > 200                                     # every cycle fired: four a working day
    assert _escalations(driver, case) > 200                 # and every one is on the record
    assert len(case.state) < 8 * 1024, len(case.state)
    # The case still works: the handler finishes it, the escalation stops, feedback comes next.
    driver.do(case, "handle", "handler_hw", action="done")
    assert "feedback" in {t.bpmn_id for t in driver.open_tasks(case)}
    escalated = _escalations(driver, case)
    sweep_at(driver, clock, driver.rt.calendar.add(end, days=2))
    assert _escalations(driver, case) == escalated


def test_the_district_is_told_once_per_level_not_every_cycle(driver, clock, handling):
    case = handling
    _late_for(driver, clock, case, 20)
    per_user = dict(driver.session.execute(
        select(Notification.user_id, func.count()).where(Notification.case_id == case.id,
                                                         Notification.kind == "escalated")
        .group_by(Notification.user_id)).all())
    assert per_user and max(per_user.values()) == 1, per_user
