"""Rebuilding assessment facts from the recorded history: what a database upgraded from before
facts were kept gets for its old cases, and the same facts and tallies the steps wrote."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from engine.assessment.rebuild import cases_without_facts, rebuild
from models import AssessmentFact, AssessmentTally

from tests.engine.test_assessment import NOVEMBER, check_tallies, item, report, to_closed, to_handling
from tests.timekeeping import SH, at


def facts(session):
    session.expire_all()
    columns = [c for c in AssessmentFact.__table__.c if c.key != "id"]
    return sorted((tuple(r) for r in session.execute(select(*columns))), key=repr)


def tallies(session):
    return sorted((r.grouping, r.month, r.key, r.kind, r.street_path, r.department, r.n, round(r.total, 6), r.valued)
                  for r in session.scalars(select(AssessmentTally)) if r.n or r.valued)


def history(driver, clock):
    """Cases down several paths: late handling, rework, an extension, a callback, a cancellation.

    Each step a second after the one before, as steps are in life (the frozen test clock would
    give every step of a case one instant, which no real history has)."""
    for name in ("do", "report"):
        def stepped(*args, _step=getattr(driver, name), **kwargs):
            clock.shift(timedelta(seconds=1))
            return _step(*args, **kwargs)
        setattr(driver, name, stepped)
    late, reworked, extended = driver.report(), driver.report(), driver.report()
    hotline = driver.report("clerk_dhm", source="hotline", reporter_phone="13900001111")
    driver.do(driver.report(), "accept", "clerk_dhm", decision="cancel", cancel_reason="out_of_scope")
    for case in (late, reworked, extended, hotline):
        to_handling(driver, case)
    driver.do(extended, "handle", "handler_hw", action="extend", extension_hours=16, extension_reason="等清运车")
    driver.do(extended, "approve_extension", "leader_dhm", approval="approve")
    clock.move_to(at(26, 10))                                   # a day later: late handling
    to_closed(driver, late)
    to_closed(driver, reworked, verify="fail")
    driver.do(hotline, "handle", "handler_hw", action="done")
    driver.do(hotline, "feedback", "handler_hw", result="已清运")
    driver.do(hotline, "callback", "clerk_dhm", satisfaction="basically")
    clock.move_to(datetime(2026, 12, 1, 11, tzinfo=SH))
    to_closed(driver, extended)


def test_cases_from_before_facts_were_kept_get_the_facts_their_steps_would_have_written(driver, clock, demo_db):
    history(driver, clock)
    session = driver.session
    written, written_tallies = facts(session), tallies(session)
    before = report(driver, "admin", "department")
    assert len(written) > 30
    # As a database upgraded from before migration 0005 holds them: events, no facts, no tallies.
    session.execute(delete(AssessmentFact))
    session.execute(delete(AssessmentTally))
    session.commit()
    assert cases_without_facts(session) == 5
    assert report(driver, "admin", "department").items == []

    done = rebuild(demo_db, driver.rt)
    assert (done.cases, done.facts) == (5, len(written))
    assert facts(session) == written and tallies(session) == written_tallies
    after = item(report(driver, "admin", "department"), "HW").values
    assert after == item(before, "HW").values and after["overdue"] >= 1 and after["reworked"] == 1
    assert report(driver, "admin", "street").total.values["cancelled_by"] == {"out_of_scope": 1}
    assert cases_without_facts(session) == 0
    assert rebuild(demo_db, driver.rt).cases == 0               # nothing left to do
    check_tallies(driver)


def test_rebuilding_named_cases_or_everything_replaces_their_facts_without_counting_twice(driver, clock, demo_db):
    history(driver, clock)
    session = driver.session
    written, written_tallies = facts(session), tallies(session)
    code = session.scalars(select(AssessmentFact.case_id)).first()
    from models import Case
    one = session.get(Case, code).code
    assert rebuild(demo_db, driver.rt, codes=(one,)).cases == 1
    assert facts(session) == written and tallies(session) == written_tallies
    assert rebuild(demo_db, driver.rt, everything=True, batch=2).cases == 5
    assert facts(session) == written and tallies(session) == written_tallies
    assert item(report(driver, "admin", "street", NOVEMBER), "110101001").values["received"] == 5
