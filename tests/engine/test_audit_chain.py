"""Case events are hash-chained per case: `verify_chain` passes on an untouched trail and names the
event that was changed, removed or inserted in SQL; a later run continues from an intact one."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from engine.assessment.trail import trail_status, verify_chain
from engine.errors import InputError
from engine.lifecycle import comments as comment_service
from models import Case, CaseEvent

from tests.timekeeping import at


def closed_case(driver):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")
    driver.do(case, "handle", "handler_hw", action="done")
    return case


def events_of(driver, case):
    return driver.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)).all()


def verify(driver, **kw):
    result = verify_chain(driver.session, driver.rt, **kw)
    driver.session.commit()
    return result


def sql(driver, statement, **params):
    driver.session.execute(text(statement), params)
    driver.session.commit()
    driver.session.expire_all()


def test_every_event_is_chained_to_the_one_before_it_in_its_case(driver, clock):
    first, second = closed_case(driver), driver.report()
    comment_service.add_comment(driver.session, driver.rt, driver.user("handler_hw"), first, "已联系环卫车")
    driver.session.commit()
    for case in (first, second):
        events = events_of(driver, case)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[0].prev_hash == ""
        assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
        assert driver.session.get(Case, case.id).event_seq == len(events)
    result = verify(driver)
    assert result.problems == [] and result.record.ok
    assert result.record.events_checked == driver.session.scalar(select(func.count()).select_from(CaseEvent))


def test_an_event_edited_in_sql_is_named(driver, clock):
    case = closed_case(driver)
    other = driver.report()
    victim = [e for e in events_of(driver, case) if e.kind == "task_completed"][1]  # the dispatch
    sql(driver, "UPDATE case_event SET data = :data WHERE id = :id",
        data='{"level": "department", "department_code": "CG"}', id=victim.id)
    result = verify(driver)
    assert not result.record.ok
    assert result.record.first_bad_event_id == victim.id
    assert result.problems[0].text == f"event #{victim.id} (case {case.code}, #{victim.seq}) was changed: " \
                                      "its content does not match its hash"
    assert len(result.problems) == 1                       # the events after it and the other case are fine
    assert other.id not in {p.case_id for p in result.problems}


def test_a_changed_time_or_actor_is_named_too(driver, clock):
    case = closed_case(driver)
    events = events_of(driver, case)
    sql(driver, "UPDATE case_event SET actor_id = NULL WHERE id = :id", id=events[2].id)
    assert verify(driver).record.first_bad_event_id == events[2].id


def test_a_removed_event_is_named_by_the_one_after_the_gap(driver, clock):
    case = closed_case(driver)
    events = events_of(driver, case)
    sql(driver, "DELETE FROM case_event WHERE id = :id", id=events[2].id)
    result = verify(driver)
    assert result.record.first_bad_event_id == events[3].id
    assert result.problems[0].text == f"case {case.code}: event(s) 3–3 of its chain were removed " \
                                      f"before event #{events[3].id}"


def test_a_removed_last_event_is_found_from_the_case_row(driver, clock):
    case = closed_case(driver)
    events = events_of(driver, case)
    sql(driver, "DELETE FROM case_event WHERE id = :id", id=events[-1].id)
    result = verify(driver)
    assert result.problems[0].text == f"case {case.code}: its last 1 event(s) after event #{events[-2].id} were removed"


def test_an_inserted_event_is_named(driver, clock):
    case = closed_case(driver)
    events = events_of(driver, case)
    # a forged completion slipped in between the 2nd and 3rd events, the later ones renumbered
    sql(driver, "UPDATE case_event SET seq = seq + 100 WHERE case_id = :c AND seq >= 3", c=case.id)
    sql(driver, "UPDATE case_event SET seq = seq - 99 WHERE case_id = :c AND seq >= 103", c=case.id)
    sql(driver, "INSERT INTO case_event (case_id, at, kind, data, seq, prev_hash, hash) "
                "VALUES (:c, :at, 'task_completed', '{}', 3, :prev, :hash)",
        c=case.id, at=events[1].at.replace(tzinfo=None), prev=events[1].hash, hash="0" * 64)
    forged = driver.session.scalar(select(func.max(CaseEvent.id)))
    sql(driver, "UPDATE grid_case SET event_seq = event_seq + 1 WHERE id = :c", c=case.id)
    result = verify(driver)
    assert result.record.first_bad_event_id == events[2].id  # the real 3rd no longer follows its predecessor
    assert forged in {p.event_id for p in result.problems}
    assert any(p.text.startswith(f"event #{forged} ") and "was changed" in p.text for p in result.problems)


def test_an_event_added_after_the_end_of_a_chain_is_named(driver, clock):
    case = closed_case(driver)
    last = events_of(driver, case)[-1]
    sql(driver, "INSERT INTO case_event (case_id, at, kind, data, seq, prev_hash, hash) "
                "VALUES (:c, :at, 'commented', '{}', :seq, :prev, 'x')",
        c=case.id, at=last.at.replace(tzinfo=None), seq=last.seq + 1, prev=last.hash)
    forged = driver.session.scalar(select(func.max(CaseEvent.id)))
    result = verify(driver)
    assert result.record.first_bad_event_id == forged
    assert any("inserted after the end of its chain" in p.text for p in result.problems)


def test_a_case_whose_events_were_all_removed(driver, clock):
    case = driver.report()
    sql(driver, "DELETE FROM case_event WHERE case_id = :c", c=case.id)
    result = verify(driver)
    assert result.problems[0].text == f"case {case.code}: all 1 of its events were removed"


def test_a_run_continues_from_an_intact_one_and_says_how_far_the_trail_is_verified(driver, clock, settings):
    clock.move_to(at(25, 10, 0))
    case = closed_case(driver)
    clock.move_to(at(25, 10, 5))              # past AUDIT_SETTLE_SECONDS
    first = verify(driver).record
    last_id = driver.session.scalar(select(func.max(CaseEvent.id)))
    assert first.ok and first.up_to_event_id == last_id
    status = trail_status(driver.session)
    assert status.up_to_event_id == last_id and status.verified_at == first.finished_at and status.problem is None
    driver.do(case, "feedback", "handler_hw", result="已清运")
    clock.move_to(at(25, 10, 10))
    second = verify(driver, from_id=first.id).record
    new = driver.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.id > last_id))
    assert second.ok and second.events_checked == new and second.up_to_event_id > last_id
    # an event before the first mark is removed: the continued run cannot walk it, but counts it
    sql(driver, "DELETE FROM case_event WHERE id = :id", id=events_of(driver, case)[1].id)
    third = verify(driver, from_id=second.id).record
    assert not third.ok and third.problem == f"check {second.id} vouched for {second.events_up_to} event(s) up to " \
                                             f"#{second.up_to_event_id}; 1 of them were removed since"
    status = trail_status(driver.session)
    assert status.up_to_event_id == second.up_to_event_id and status.broken_at == third.finished_at
    with pytest.raises(InputError):
        verify_chain(driver.session, driver.rt, from_id=third.id)


def test_events_of_the_last_minute_are_checked_but_not_vouched_for_yet(driver, clock):
    clock.move_to(at(25, 10, 0))
    driver.report()
    run = verify(driver).record
    assert run.ok and run.events_checked == 1 and run.up_to_event_id == 0
    clock.move_to(at(25, 10, 0) + timedelta(minutes=2))
    assert verify(driver, from_id=run.id).record.up_to_event_id == 1
