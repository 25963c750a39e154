"""The case page's view model: only cases in the user's scope, the path the diagram marks, and
which open tasks it marks overdue at a given moment."""
from __future__ import annotations

import pytest

from engine.errors import NotFound
from engine.queries.case_view import case_view, task_view

from tests.timekeeping import at


def view(driver, case, username, moment=at(25, 10)):
    return case_view(driver.session, driver.rt, driver.user(username), case.code, moment)


def test_a_case_of_another_street_is_not_found(driver, clock):
    case = driver.report()  # 东华门街道
    assert view(driver, case, "clerk_dhm").case.code == case.code
    with pytest.raises(NotFound):
        view(driver, case, "clerk_jdk")  # 交道口街道's clerk
    with pytest.raises(NotFound):
        task_view(driver.session, driver.rt, driver.user("clerk_jdk"), driver.task(case, "accept").id)


def test_the_path_shows_the_steps_taken_and_the_current_task(driver, clock):
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    page = view(driver, case, "clerk_dhm")
    assert {"accept", "dispatch"} <= set(page.path["done"])
    assert "sign_for" not in page.path["done"]
    assert page.path["current"] == ["sign_for"]
    assert page.path["overdue"] == []
    assert all(source in page.path["done"] for source, _ in page.path["steps"])
    assert page.department.code == "HW" and page.departments["HW"] is page.department
    assert [node.bpmn_id for e, node in page.events if node is not None][:2] == ["accept", "dispatch"]


def test_handling_is_marked_overdue_only_after_its_deadline(driver, handling):
    # Signed for on Wednesday 10:00 with 4 working hours to handle: due 15:30 (lunch 12:00–13:30).
    assert view(driver, handling, "leader_dhm", at(25, 15, 29)).path["overdue"] == []
    late = view(driver, handling, "leader_dhm", at(25, 15, 31))
    assert late.path["overdue"] == ["handle"] and late.path["current"] == ["handle"]


def test_the_task_page_offers_a_shift_leader_the_people_to_assign(driver, handling):
    task_id = driver.task(handling, "handle").id
    leader = task_view(driver.session, driver.rt, driver.user("leader_dhm"), task_id)
    handler = task_view(driver.session, driver.rt, driver.user("handler_hw"), task_id)
    assert "handler_hw" in {u.username for u in leader.candidates} and not leader.may_take
    assert handler.candidates == [] and handler.may_take
    assert handler.department.code == "HW" and handler.case.code == handling.code
