"""The resident's rating after closing: the rating window, a dissatisfied rating reviewed by the
shift leader, reopening back to handling, and what Case.status/closed_at say meanwhile."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select

from engine.public import tracking
from engine.errors import Conflict, InputError, NotFound
from engine.scheduler import drain
from models import Case, Rating

from tests.timekeeping import at

HANDLING = [("accept", "clerk_dhm", {"decision": "file"}),
            ("dispatch", "dispatch_dhm", {"level": "department", "department_code": "HW"}),
            ("sign_for", "handler_hw", {"sign_decision": "sign"})]
TO_CLOSE = [("handle", "handler_hw", {"action": "done"}),
            ("feedback", "handler_hw", {"result": "已清运"}),
            ("callback", "clerk_dhm", {"satisfaction": "satisfied"}),
            ("verify", "grid_dhm_01", {"verify_result": "pass"}),
            ("close", "leader_dhm", {"close_note": "结案"})]


def drive(driver, case, steps):
    for bpmn_id, user, data in steps:
        driver.do(case, bpmn_id, user, **data)


@pytest.fixture
def closed(driver, clock):
    """A hotline case, closed on Wednesday 10:00; returns (case, reporter's secret)."""
    case = driver.report("clerk_dhm", source="hotline", reporter_phone="13900001111")
    secret = case.tracking_secret
    drive(driver, case, HANDLING + TO_CLOSE)
    return case, secret


def rate(driver, case, secret, satisfaction, comment=""):
    view = tracking.rate(driver.session, driver.rt, case.code, secret, satisfaction, comment)
    driver.session.commit()
    driver.check_round_trip(case)
    return view


def test_a_resident_report_is_closed_while_the_rating_window_is_open(driver, closed):
    case, secret = closed
    assert (case.status, case.stage) == ("closed", "rating")
    assert case.closed_at == at(25, 10) and driver.open_tasks(case) == []
    assert case.next_timer_at == at(4, 10).replace(month=12)  # 7 working days
    assert tracking.reporter_case(driver.session, driver.rt, case.code, secret).can_rate


def test_a_patrol_report_goes_from_closing_to_the_communitys_rating(driver, clock):
    case = driver.report()
    drive(driver, case, HANDLING + [s for s in TO_CLOSE if s[0] != "callback"])
    # no resident's rating; the community rates the department (tests/engine/test_two_way.py)
    assert (case.status, case.stage, case.next_timer_at) == ("closed", "unit_rating", at(2, 10).replace(month=12))
    assert [t.bpmn_id for t in driver.open_tasks(case)] == ["rate_unit"]
    assert case.tracking_secret is None


def test_a_satisfied_rating_ends_the_case_and_is_given_once(driver, closed, clock):
    case, secret = closed
    clock.move_to(at(26, 9))
    view = rate(driver, case, secret, "satisfied", "很及时")
    assert (case.status, case.stage) == ("closed", "unit_rating") and not view.can_rate  # then the community rates
    assert case.closed_at == at(25, 10)  # the rating does not move the closing time
    assert view.rating.satisfaction == "satisfied"
    with pytest.raises(Conflict):
        tracking.rate(driver.session, driver.rt, case.code, secret, "dissatisfied")
    driver.session.rollback()
    assert driver.session.scalars(select(Rating).where(Rating.source == "resident")).all() == [view.rating]


def test_the_window_closes_after_seven_working_days(driver, closed, clock):
    case, secret = closed
    clock.move_to(at(4, 9, 59).replace(month=12))
    drain(driver.sessions, driver.rt)
    driver.session.expire_all()
    assert case.stage == "rating"
    clock.move_to(at(4, 10, 1).replace(month=12))
    drain(driver.sessions, driver.rt)
    driver.session.expire_all()
    assert (case.status, case.stage, case.closed_at) == ("closed", "unit_rating", at(25, 10))
    with pytest.raises(Conflict):
        tracking.rate(driver.session, driver.rt, case.code, secret, "satisfied")


def test_dissatisfied_goes_to_the_shift_leader_who_may_uphold(driver, closed):
    case, secret = closed
    rate(driver, case, secret, "dissatisfied", "垃圾又堆起来了")
    review = driver.task(case, "review_rating")
    assert (review.role, review.scope_key) == ("shift_leader", "110000/110101/110101001/")
    assert (case.status, case.stage) == ("closed", "rating_review")
    driver.do(case, "review_rating", "leader_dhm", review_decision="uphold", review_note="已按标准处置")
    assert (case.status, case.stage, case.closed_at) == ("closed", "unit_rating", at(25, 10))


def test_a_reopened_case_goes_back_to_handling_and_can_be_rated_again(driver, closed, clock):
    case, secret = closed
    rate(driver, case, secret, "dissatisfied", "没有清理干净")
    clock.move_to(at(25, 11))
    driver.do(case, "review_rating", "leader_dhm", review_decision="reopen", review_note="请重新清运")
    assert (case.status, case.stage, case.closed_at) == ("open", "handle", None)
    handle = driver.task(case, "handle")
    assert (handle.role, handle.scope_key) == ("department_handler", "dept:HW")
    assert handle.due_at == at(25, 16, 30)  # a fresh 4 working hours, over lunch
    kinds = [e.kind for e in driver.events(case)]
    assert kinds[-3:] == ["task_completed", "reopened", "due_changed"] and kinds.count("closed") == 1

    clock.move_to(at(25, 14))
    drive(driver, case, TO_CLOSE)
    assert (case.status, case.stage, case.closed_at) == ("closed", "rating", at(25, 14))
    assert case.due_at is None
    rate(driver, case, secret, "basically")
    assert (case.status, case.stage) == ("closed", "unit_rating")
    assert [t.bpmn_id for t in driver.open_tasks(case)] == ["rate_unit"]  # once, for the final handling
    ratings = driver.session.scalars(select(Rating.satisfaction).where(Rating.source == "resident")
                                     .order_by(Rating.id)).all()
    assert ratings == ["dissatisfied", "basically"]


def test_closing_a_resident_report_ends_an_open_supervision_task(driver, clock):
    case = driver.report("clerk_dhm", source="app")
    drive(driver, case, HANDLING)
    clock.move_to(at(25, 15, 31))  # handling overdue: 督办 opens
    drain(driver.sessions, driver.rt)
    driver.session.expire_all()
    assert "supervise" in {t.bpmn_id for t in driver.open_tasks(case)}
    drive(driver, case, TO_CLOSE)
    assert case.stage == "rating" and driver.open_tasks(case) == []


def test_bad_ratings_and_wrong_secrets_change_nothing(driver, closed):
    case, secret = closed
    with pytest.raises(InputError) as err:
        tracking.rate(driver.session, driver.rt, case.code, secret, "great", "x" * 501)
    assert set(err.value.errors) == {"satisfaction", "comment"}
    with pytest.raises(NotFound):
        tracking.rate(driver.session, driver.rt, case.code, secret[:-1] + ("B" if secret[-1] == "A" else "A"),
                      "satisfied")
    with pytest.raises(NotFound):
        tracking.reporter_case(driver.session, driver.rt, "GF2026112599999", secret)
    # Seen inside the same transaction, before any rollback: nothing was written.
    assert driver.session.scalar(select(Case.stage).where(Case.id == case.id)) == "rating"
    assert driver.session.scalar(select(func.count()).select_from(Rating).where(
        Rating.case_id == case.id, Rating.source == "resident")) == 0
    driver.session.rollback()
