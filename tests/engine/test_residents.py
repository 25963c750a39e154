"""Residents and intake in the engine: every intake error at once, phone numbers, what the reporter
sees before rating, a supplement's photos, one satisfaction per closing, and what a unit that
returned a case still sees of it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Conflict, Forbidden, InputError, NotFound
from engine.lifecycle import cases as case_service
from engine.lifecycle import satisfaction, tasks
from engine.public import tracking
from engine.queries.case_view import photo_stages, task_view
from models import Attachment, Task

from tests.engine.conftest import GARBAGE, GRID
from tests.photos import png
from tests.timekeeping import at

HANDLING = [("accept", "clerk_dhm", {"decision": "file"}),
            ("dispatch", "dispatch_dhm", {"level": "department", "department_code": "HW"}),
            ("sign_for", "handler_hw", {"sign_decision": "sign"}),
            ("handle", "handler_hw", {"action": "done"}),
            ("feedback", "handler_hw", {"result": "已清运，路面已冲洗"})]
CLOSING = [("verify", "grid_dhm_01", {"verify_result": "pass"}),
           ("close", "leader_dhm", {"close_note": "结案"})]


def drive(driver, case, steps):
    for bpmn_id, user, data in steps:
        driver.do(case, bpmn_id, user, **data)


def hotline(driver, **fields):
    case = driver.report("clerk_dhm", source="hotline", reporter_name="王芳", reporter_phone="13900001111", **fields)
    return case, case.tracking_secret


# -- intake ---------------------------------------------------------------------------------------
def test_every_intake_error_comes_back_at_once_with_the_forms_own(driver):
    report = {"category_code": "X9999", "grid_code": GRID, "description": "垃圾", "source": "hotline",
              "reporter_phone": "12345"}
    with pytest.raises(InputError) as err:
        case_service.report_case(driver.session, driver.rt, driver.user("clerk_dhm"), report,
                                 {"description": ["too short for this form"]})
    assert set(err.value.errors) == {"category_code", "address", "reporter_phone", "description"}
    assert "13900001111, 010-65123456" in str(err.value.errors["reporter_phone"][0])


def test_a_channel_the_reporter_may_not_use_is_named_with_the_other_errors(driver):
    with pytest.raises(InputError) as err:
        case_service.report_case(driver.session, driver.rt, driver.user("grid_dhm_01"),
                                 {"category_code": GARBAGE, "grid_code": GRID, "source": "hotline"})
    assert set(err.value.errors) == {"address", "source"}


def test_a_foreign_grid_is_a_refusal_alone_and_an_error_among_others(driver):
    other = "110101002001001"
    base = {"category_code": GARBAGE, "grid_code": other, "source": "patrol", "address": "景山前街"}
    with pytest.raises(Forbidden):
        case_service.report_case(driver.session, driver.rt, driver.user("grid_dhm_01"), base)
    with pytest.raises(InputError) as err:
        case_service.report_case(driver.session, driver.rt, driver.user("grid_dhm_01"), {**base, "address": ""})
    assert set(err.value.errors) == {"address", "grid_code"}


@pytest.mark.parametrize("phone", ["13900001111", "+86 139 0000 1111", "010-65123456", "01065123456",
                                   "0755-12345678-801"])
def test_mainland_mobile_and_landline_numbers_are_accepted(driver, phone):
    case = driver.report("clerk_dhm", source="hotline", reporter_phone=phone)
    assert case.reporter_phone == phone


@pytest.mark.parametrize("phone", ["12345", "1390000111", "139000011112", "23900001111", "65123456", "010-123"])
def test_numbers_nobody_can_call_back_are_refused(driver, phone):
    with pytest.raises(InputError) as err:
        driver.report("clerk_dhm", source="hotline", reporter_phone=phone)
    assert set(err.value.errors) == {"reporter_phone"}


# -- the reporter's link ------------------------------------------------------------------------
def test_the_reporter_sees_the_handling_result_before_rating(driver, clock):
    case, secret = hotline(driver)
    drive(driver, case, HANDLING)
    before = tracking.reporter_case(driver.session, driver.rt, case.code, secret)
    assert before.facts == [] and not before.can_rate  # nothing to rate yet, nothing shown
    drive(driver, case, [("callback", "clerk_dhm", {"satisfaction": "satisfied"})] + CLOSING)
    mine = tracking.reporter_case(driver.session, driver.rt, case.code, secret)
    assert mine.can_rate and [(f.label, f.value) for f in mine.facts] == [("处置结果", "已清运，路面已冲洗")]


def test_a_supplement_carries_photos_kept_with_its_stage(driver):
    case, secret = hotline(driver)
    driver.do(case, "accept", "clerk_dhm", decision="supplement", supplement_request="请拍一张门牌")
    mine = tracking.add_supplement(driver.session, driver.rt, case.code, secret, "门牌是南池子大街12号",
                                   [("door.png", png()), ("door2.png", png(colour=(200, 20, 20)))])
    driver.session.commit()
    assert not mine.can_supplement and case.stage == "accept"
    photos = driver.session.scalars(select(Attachment).where(Attachment.case_id == case.id)).all()
    assert [(a.filename, a.stage, a.uploaded_by_id) for a in photos] == [("door.png", "supplement", None),
                                                                         ("door2.png", "supplement", None)]
    assert set(photo_stages(driver.session, photos).values()) == {"supplement"}
    message = [e for e in driver.events(case) if e.kind == "message"][-1]
    assert message.data["photos"] == ",".join(f"att:{a.id}" for a in photos)


def test_a_bad_photo_keeps_the_supplement_from_being_sent(driver):
    case, secret = hotline(driver)
    driver.do(case, "accept", "clerk_dhm", decision="supplement", supplement_request="请拍一张门牌")
    with pytest.raises(InputError) as err:
        tracking.add_supplement(driver.session, driver.rt, case.code, secret, "门牌号", [("x.png", b"not a photo")])
    assert set(err.value.errors) == {"photos"}
    driver.session.rollback()
    assert case.stage == "supplement"


def test_nothing_to_supplement_is_a_conflict(driver):
    case, secret = hotline(driver)
    with pytest.raises(Conflict):
        tracking.add_supplement(driver.session, driver.rt, case.code, secret, "门牌号")


# -- one satisfaction per closing ---------------------------------------------------------------
def test_the_residents_rating_outweighs_the_phone_callback_and_both_are_kept(driver, clock):
    case, secret = hotline(driver)
    drive(driver, case, HANDLING + [("callback", "clerk_dhm", {"satisfaction": "satisfied"})] + CLOSING)
    noted = satisfaction.of_case(driver.session, case)
    assert (noted.value, noted.source, noted.resident) == ("satisfied", "callback", None)
    tracking.rate(driver.session, driver.rt, case.code, secret, "dissatisfied", "垃圾又堆起来了")
    driver.session.commit()
    one = satisfaction.of_case(driver.session, case)
    assert (one.value, one.source) == ("dissatisfied", "resident")
    assert (one.callback.satisfaction, one.callback.source) == ("satisfied", "callback")
    assert one.resident.comment == "垃圾又堆起来了"


def test_an_unreached_callback_is_no_rating(driver, clock):
    case, _ = hotline(driver)
    drive(driver, case, HANDLING + [("callback", "clerk_dhm", {"satisfaction": "unreachable"})])
    assert satisfaction.of_case(driver.session, case) is None


def test_a_reopened_case_starts_a_new_round(driver, clock):
    case, secret = hotline(driver)
    drive(driver, case, HANDLING + [("callback", "clerk_dhm", {"satisfaction": "satisfied"})] + CLOSING)
    tracking.rate(driver.session, driver.rt, case.code, secret, "dissatisfied")
    driver.session.commit()
    clock.move_to(at(25, 11))
    driver.do(case, "review_rating", "leader_dhm", review_decision="reopen", review_note="请重新清运")
    assert satisfaction.of_case(driver.session, case) is None  # the last closing's ratings are history
    clock.move_to(at(25, 14))
    drive(driver, case, HANDLING[3:] + [("callback", "clerk_dhm", {"satisfaction": "basically"})])
    again = satisfaction.of_case(driver.session, case)
    assert (again.value, again.source) == ("basically", "callback")


# -- a unit that returned the case ---------------------------------------------------------------
def test_a_unit_that_returned_the_case_sees_only_its_own_task_record(driver, clock):
    case, _ = hotline(driver)
    drive(driver, case, HANDLING[:2])
    sign = driver.task(case, "sign_for")
    driver.do(case, "sign_for", "handler_hw", sign_decision="return", return_reason="不属于环卫职责")
    handler = driver.user("handler_hw")
    with pytest.raises(NotFound):
        case_service.get_case(driver.session, handler, case.code)
    view = task_view(driver.session, driver.rt, handler, sign.id)
    assert view.own_record and view.values == {"sign_decision": "return", "return_reason": "不属于环卫职责"}
    assert view.attachments == [] and view.comments == [] and view.candidates == [] and view.department is None
    with pytest.raises(NotFound):
        tasks.assignable(driver.session, handler, sign.id)
    # Re-dispatched to 城管: the new unit sees the whole case, 环卫 still only its record.
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="CG")
    assert case.department_code == "CG"
    assert task_view(driver.session, driver.rt, handler, sign.id).own_record
    assert not task_view(driver.session, driver.rt, driver.user("dispatch_dhm"), sign.id).own_record


def test_the_unit_holding_the_case_still_sees_its_earlier_tasks_whole(driver, clock):
    case, _ = hotline(driver)
    drive(driver, case, HANDLING[:3])
    sign = driver.session.scalars(select(Task).where(Task.case_id == case.id, Task.bpmn_id == "sign_for")).one()
    view = task_view(driver.session, driver.rt, driver.user("handler_hw"), sign.id)
    assert not view.own_record and view.values == {"sign_decision": "sign"}
