"""A case's whole life in headless Chromium against the served app: a grid worker reports it on
a phone, the clerk files it, the dispatcher dispatches it, the department signs for it, handles
it and reports back, the worker verifies and the shift leader closes; the case page then tells
the story and draws the path. Plus: the supervision board turns a case overdue as time moves
on, the intake page fits a phone, and the pages switch to English."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from engine.lifecycle.sweep import sweep
from models import Case, Task
from tests.web.pages import sign_in

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

GRID = "110101001001001"
CASE_URL = re.compile(r"/cases/(GF\d+)$")


def photo(name: str, colour) -> dict:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def open_task_from_inbox(pages, page, code: str, task_name: str, shot: str) -> None:
    """Find the case's task in the inbox by its name and open it, with a screenshot of each."""
    page.goto("/inbox")
    row = page.locator("tr.task", has_text=code)
    expect(row).to_be_visible()
    pages.shot(page, f"{shot}-inbox")
    if page.viewport_size["width"] <= PHONE["width"]:
        fits_the_phone(page)
    row.get_by_role("link", name=task_name, exact=True).click()
    expect(page.locator("h1")).to_contain_text(task_name)
    pages.shot(page, shot)


def submit_task(page) -> None:
    page.locator("form.task-form button.primary").click()
    page.wait_for_url("**/inbox")
    expect(page.locator(".flash.success")).to_be_visible()


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_case_lifecycle_through_the_pages(pages):
    # The grid worker reports on a phone-sized screen.
    worker = pages.open("grid_dhm_01", viewport=PHONE)
    pages.shot(worker, "worker-inbox")
    worker.get_by_role("link", name="上报", exact=True).click()
    expect(worker.locator("h1")).to_have_text("上报案件")
    expect(worker.locator("#in-grid")).to_have_value(GRID)  # the worker's own grid
    fits_the_phone(worker)
    pages.shot(worker, "report-empty")
    worker.fill("#category-search", "垃圾")
    expect(worker.get_by_label("E0102 暴露垃圾")).to_be_visible()
    expect(worker.locator("label.choice", has_text="E0101")).to_be_hidden()  # not a match
    worker.get_by_label("E0102 暴露垃圾").check()
    worker.fill("#in-address", "南池子大街12号")
    worker.fill("#in-description", "路边堆放生活垃圾，约两立方米")
    worker.set_input_files("#in-photos", photo("before.png", (150, 90, 40)))
    fits_the_phone(worker)
    submit = worker.get_by_role("button", name="上报", exact=True)
    expect(submit).to_be_visible()
    box = submit.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    pages.shot(worker, "report-filled")
    submit.click()
    worker.wait_for_url(CASE_URL)
    code = CASE_URL.search(worker.url).group(1)
    expect(worker.locator(".flash.success")).to_contain_text(code)
    expect(worker.locator(".photos img[alt='before.png']")).to_be_visible()
    fits_the_phone(worker)
    pages.shot(worker, "case-reported")

    # The acceptance clerk files it.
    clerk = pages.open("clerk_dhm")
    open_task_from_inbox(pages, clerk, code, "受理立案", "accept")
    clerk.get_by_label("立案", exact=True).check()
    clerk.fill("[name=accept_note]", "情况属实")
    submit_task(clerk)

    # The dispatcher finds the routing table's choice already filled in.
    dispatcher = pages.open("dispatch_dhm")
    open_task_from_inbox(pages, dispatcher, code, "派遣", "dispatch")
    expect(dispatcher.get_by_label("职能部门", exact=True)).to_be_checked()
    expect(dispatcher.locator("[name=department_code]")).to_have_value("HW")
    submit_task(dispatcher)

    # The department signs for it, handles it and reports back with a photo.
    handler = pages.open("handler_hw")
    open_task_from_inbox(pages, handler, code, "签收", "sign-for")
    handler.get_by_label("签收", exact=True).check()
    submit_task(handler)
    open_task_from_inbox(pages, handler, code, "处置", "handle")
    handler.get_by_label("处置完毕", exact=True).check()
    submit_task(handler)
    open_task_from_inbox(pages, handler, code, "反馈", "feedback")
    handler.fill("[name=result]", "已清运完毕")
    handler.set_input_files("input[name=photos]", photo("after.png", (40, 150, 90)))
    submit_task(handler)

    # A patrol report has no satisfaction callback: the worker verifies on site, on the phone.
    open_task_from_inbox(pages, worker, code, "核查", "verify")
    worker.get_by_label("通过", exact=True).check()
    fits_the_phone(worker)
    submit_task(worker)

    # The shift leader closes it.
    leader = pages.open("leader_dhm")
    open_task_from_inbox(pages, leader, code, "结案", "close")
    submit_task(leader)

    # The community rates the department that handled it (two-way assessment); not satisfied needs a reason.
    community = pages.open("comm_nanchizi")
    open_task_from_inbox(pages, community, code, "评价处置部门", "rate-unit")
    community.get_by_label("满意", exact=True).check()
    submit_task(community)

    # The case page: closed, the whole story in words, the path drawn on the diagram.
    leader.goto(f"/cases/{code}")
    expect(leader.locator(".case-head .stage")).to_have_attribute("data-stage", "closed")
    timeline = leader.locator("#timeline li")
    expect(timeline.filter(has_text="程晨").filter(has_text="上报")).to_have_count(1)
    for actor, task in [("陈静", "受理立案"), ("赵磊", "派遣"), ("白雪梅", "签收"), ("白雪梅", "处置"),
                        ("白雪梅", "反馈"), ("程晨", "核查"), ("杨帆", "结案")]:
        expect(timeline.filter(has_text=actor).filter(has_text=f"“{task}”")).to_have_count(1)
    expect(leader.locator("#timeline")).to_contain_text("情况属实")
    expect(leader.locator("#timeline")).not_to_contain_text('{"')  # words, not JSON
    expect(leader.locator(".photos img")).to_have_count(2)
    leader.wait_for_selector("#diagram[data-ready=true]")
    diagram = leader.locator("#diagram svg")
    for task_id in ("accept", "dispatch", "sign_for", "handle", "feedback", "verify", "close"):
        expect(diagram.locator(f"[data-element-id={task_id}].gf-done")).to_have_count(1)
    assert diagram.locator(".djs-connection.gf-step").count() >= 7
    expect(diagram.locator(".gf-current")).to_have_count(0)  # nothing is left open
    pages.shot(leader, "case-closed")
    worker.goto(f"/cases/{code}")
    worker.wait_for_selector("#diagram[data-ready=true]")
    fits_the_phone(worker)
    pages.shot(worker, "case-closed-phone")


def test_return_extension_and_rework_show_what_is_decided_and_start_from_empty_forms(pages, live_server):
    app = live_server.app
    client = app.test_client()
    csrf = sign_in(client, "grid_dhm_01")
    r = client.post("/report", data={"csrf_token": csrf, "category_code": "E0102", "grid_code": GRID,
                                     "address": "南池子大街12号", "description": "路边堆放生活垃圾"})
    code = r.headers["Location"].rsplit("/", 1)[-1]
    clerk = pages.open("clerk_dhm")
    open_task_from_inbox(pages, clerk, code, "受理立案", "rounds-accept")
    clerk.get_by_label("立案", exact=True).check()
    submit_task(clerk)

    # The dispatcher overrides the routing table (环卫) with 城管, which returns the case.
    dispatcher = pages.open("dispatch_dhm")
    open_task_from_inbox(pages, dispatcher, code, "派遣", "rounds-dispatch")
    expect(dispatcher.locator(".recommendation")).to_contain_text("暴露垃圾")
    dispatcher.locator("[name=department_code]").select_option(label="区城管执法局")
    submit_task(dispatcher)
    cg = pages.open("handler_cg")
    open_task_from_inbox(pages, cg, code, "签收", "rounds-sign-cg")
    cg.get_by_label("回退", exact=True).check()
    cg.fill("[name=return_reason]", "垃圾清运不属于城管职责")
    submit_task(cg)

    # Re-dispatch: who returned it and why; the form offers the recommendation, not the refusing unit.
    open_task_from_inbox(pages, dispatcher, code, "派遣", "rounds-redispatch")
    facts = dispatcher.locator(".facts")
    expect(facts).to_contain_text("金海")
    expect(facts).to_contain_text("垃圾清运不属于城管职责")
    expect(dispatcher.locator("[name=department_code]")).to_have_value("HW")
    submit_task(dispatcher)

    # The handler asks for more time; the approver sees hours, reason, current and new deadline.
    handler = pages.open("handler_hw")
    open_task_from_inbox(pages, handler, code, "签收", "rounds-sign-hw")
    expect(handler.locator("[name=return_reason]")).to_have_value("")  # not the other unit's reason
    handler.get_by_label("签收", exact=True).check()
    submit_task(handler)
    open_task_from_inbox(pages, handler, code, "处置", "rounds-handle")
    handler.get_by_label("申请延期", exact=True).check()
    handler.fill("[name=extension_hours]", "4")
    handler.fill("[name=extension_reason]", "等待清运车辆")
    submit_task(handler)
    leader = pages.open("leader_dhm")
    open_task_from_inbox(pages, leader, code, "延期审批", "rounds-approve")
    facts = leader.locator(".facts")
    for shown in ("申请延期(小时)", "4", "等待清运车辆", "当前期限", "延期后期限"):
        expect(facts).to_contain_text(shown)
    expect(facts.locator("dd")).to_have_count(4)
    leader.get_by_label("同意", exact=True).check()
    submit_task(leader)

    # Handling, then the worker refuses the result; the rework form is empty and says why.
    open_task_from_inbox(pages, handler, code, "处置", "rounds-handle-2")
    expect(handler.locator("[name=action]:checked")).to_have_count(0)
    handler.get_by_label("处置完毕", exact=True).check()
    submit_task(handler)
    open_task_from_inbox(pages, handler, code, "反馈", "rounds-feedback")
    handler.fill("[name=result]", "已清运")
    submit_task(handler)
    worker = pages.open("grid_dhm_01")
    open_task_from_inbox(pages, worker, code, "核查", "rounds-verify")
    expect(worker.locator(".facts")).to_contain_text("已清运")
    worker.get_by_label("不通过", exact=True).check()
    worker.fill("[name=verify_note]", "现场仍有垃圾残留")
    submit_task(worker)
    open_task_from_inbox(pages, handler, code, "处置", "rounds-rework")
    expect(handler.locator(".facts")).to_contain_text("现场仍有垃圾残留")
    expect(handler.locator("[name=action]:checked")).to_have_count(0)
    expect(handler.locator("[name=extension_reason]")).to_have_value("")
    handler.goto("/notifications")
    expect(handler.locator("body")).to_contain_text("现场仍有垃圾残留")


def test_board_turns_a_case_overdue_as_time_moves_on(pages, live_server):
    app = live_server.app
    with time_machine.travel(datetime.now(timezone.utc), tick=True) as traveller:
        code = to_handling(app)

        # The supervisor's board polls every 10 s. The page's clock is Playwright's, so the test
        # fires the real htmx poll by running that clock on, instead of waiting ten seconds.
        supervisor = pages.open("super_district", clock=True)
        expect(supervisor.locator("h1")).to_have_text("督办看板")
        expect(supervisor.locator("#board-overdue")).to_have_text("0")
        pages.shot(supervisor, "board-before")

        with app.extensions["gridflow.sessions"]() as session:
            handle_due = session.scalar(select(Task.due_at).join(Case).where(
                Case.code == code, Task.bpmn_id == "handle", Task.status == "open"))
        traveller.move_to(handle_due + timedelta(minutes=1))
        sweep(app.extensions["gridflow.sessions"], app.extensions["gridflow.runtime"])

        expect(supervisor.locator("#board-overdue")).to_have_text("0")  # no refresh yet
        supervisor.clock.run_for(11_000)
        expect(supervisor.locator("#board-overdue")).to_have_text("1")
        expect(supervisor.locator("#by-department")).to_contain_text("环境卫生")
        expect(supervisor.locator("#by-street")).to_contain_text("东华门街道")
        pages.shot(supervisor, "board-overdue")
        supervisor.locator("#by-department a.overdue-text", has_text="1").click()
        expect(supervisor.locator("table.cases")).to_contain_text(code)
        pages.shot(supervisor, "overdue-cases")
        supervisor.get_by_role("link", name=code).click()
        expect(supervisor.locator(".case-head")).to_contain_text("超期")
        supervisor.wait_for_selector("#diagram[data-ready=true]")
        expect(supervisor.locator("#diagram [data-element-id=handle].gf-overdue")).to_have_count(1)
        pages.shot(supervisor, "case-overdue")


def test_pages_switch_to_english(pages, live_server):
    client = live_server.app.test_client()
    csrf = sign_in(client, "grid_dhm_01")
    client.post("/report", data={"csrf_token": csrf, "category_code": "E0102", "grid_code": GRID,
                                 "address": "南池子大街12号", "description": "路边堆放生活垃圾"})
    clerk = pages.open("clerk_dhm")
    expect(clerk.locator("h1")).to_have_text("待办")
    clerk.get_by_role("button", name="English").click()
    expect(clerk.locator("h1")).to_have_text("Inbox")
    expect(clerk.locator("nav.main-nav")).to_contain_text("Cases")
    expect(clerk.locator("#filter-form")).to_contain_text("Stage")
    expect(clerk.locator("tr.task").first).to_contain_text("Accept and file")
    expect(clerk.locator("tr.task").first).to_contain_text("Exposed garbage")
    pages.shot(clerk, "inbox-en")
    clerk.get_by_role("button", name="中文").click()
    expect(clerk.locator("h1")).to_have_text("待办")


def to_handling(app) -> str:
    """Bring a new garbage case to 环卫's handling stage through the same app, without a browser."""
    client = app.test_client()
    csrf = sign_in(client, "grid_dhm_01")
    r = client.post("/report", data={"csrf_token": csrf, "category_code": "E0102", "grid_code": GRID,
                                     "address": "南池子大街12号", "description": "路边堆放生活垃圾"})
    code = r.headers["Location"].rsplit("/", 1)[-1]
    for username, task, form in [("clerk_dhm", "accept", {"decision": "file"}),
                                 ("dispatch_dhm", "dispatch", {"level": "department", "department_code": "HW"}),
                                 ("handler_hw", "sign_for", {"sign_decision": "sign"})]:
        client = app.test_client()
        csrf = sign_in(client, username)
        r = client.post(f"/tasks/{open_task(app, code, task)}", data={"csrf_token": csrf, **form})
        assert r.status_code == 302, (task, r.get_data(as_text=True)[-1000:])
    return code


def open_task(app, code: str, bpmn_id: str) -> int:
    with app.extensions["gridflow.sessions"]() as session:
        return session.scalar(select(Task.id).join(Case).where(Case.code == code, Task.bpmn_id == bpmn_id,
                                                               Task.status == "open"))
