"""A 督办 as the people involved see it, in headless Chromium: handling runs late, the street's
supervisor finds the order on the board and issues it to the department (offered by default),
the department is told and replies from its inbox, the supervisor sends the reply back with a
reason, the department replies again and the supervisor adopts it; the case page shows it all."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from playwright.sync_api import expect
from sqlalchemy import select

from engine.lifecycle.sweep import sweep
from models import Case, Task

from tests.browser.test_walkthrough import submit_task, to_handling

pytestmark = pytest.mark.browser


def open_task_from_inbox(pages, page, code: str, task_name: str, shot: str) -> None:
    """Open the case's task of this name from the inbox (the 督办 sits there beside the case's own work)."""
    page.goto("/inbox")
    row = page.locator("tr.task", has_text=code).filter(has=page.get_by_role("link", name=task_name, exact=True))
    expect(row).to_be_visible()
    pages.shot(page, f"{shot}-inbox")
    row.get_by_role("link", name=task_name, exact=True).click()
    expect(page.locator("h1")).to_contain_text(task_name)
    pages.shot(page, shot)


def test_a_supervision_order_its_reply_a_send_back_and_the_adopted_reply(pages, live_server):
    app = live_server.app
    with time_machine.travel(datetime.now(timezone.utc), tick=True) as traveller:
        code = to_handling(app)
        with app.extensions["gridflow.sessions"]() as session:
            handle_due = session.scalar(select(Task.due_at).join(Case).where(
                Case.code == code, Task.bpmn_id == "handle", Task.status == "open"))
        traveller.move_to(handle_due + timedelta(minutes=1))
        sweep(app.extensions["gridflow.sessions"], app.extensions["gridflow.runtime"])

        # The street's supervisor finds the order on the board: department, street, late stage, state.
        supervisor = pages.open("super_dhm")
        supervisor.goto("/board")
        row = supervisor.locator("#supervise-tasks tr", has_text=code)
        expect(row.locator(".department")).to_have_text("区环境卫生服务中心")
        expect(row.locator(".street")).to_have_text("东华门街道")
        expect(row.locator(".late-stage")).to_have_text("处置")
        expect(row.locator(".reply-state")).to_contain_text("督办待下达")
        pages.shot(supervisor, "board-order-to-issue")
        row.locator(".reply-state a").click()
        expect(supervisor.locator("h1")).to_contain_text("督办")
        expect(supervisor.locator("[name=supervision_unit]")).to_have_value("HW")   # the case's department
        expect(supervisor.get_by_label("一般督办", exact=True)).to_be_checked()
        supervisor.fill("[name=supervision_note]", "今日内清运完毕并回复")
        supervisor.get_by_label("重点督办", exact=True).check()
        pages.shot(supervisor, "order-filled")
        submit_task(supervisor)

        # The department is told, and the reply waits in its inbox with its own deadline.
        handler = pages.open("handler_hw")
        handler.goto("/notifications")
        expect(handler.locator("body")).to_contain_text("收到重点督办")
        expect(handler.locator("body")).to_contain_text("今日内清运完毕并回复")
        pages.shot(handler, "order-notice")
        open_task_from_inbox(pages, handler, code, "督办答复", "reply-form")
        facts = handler.locator(".facts")
        expect(facts).to_contain_text("重点督办")
        expect(facts).to_contain_text("今日内清运完毕并回复")
        expect(facts).to_contain_text("答复期限")
        handler.fill("[name=supervision_reply]", "已安排车辆前往清运")
        submit_task(handler)

        # The supervisor reads the reply and sends it back with a reason.
        open_task_from_inbox(pages, supervisor, code, "审核督办答复", "review-form")
        expect(supervisor.locator(".facts")).to_contain_text("已安排车辆前往清运")
        supervisor.get_by_label("退回，重新答复", exact=True).check()
        supervisor.fill("[name=supervision_review_note]", "请说明清运完成时间")
        submit_task(supervisor)

        # The department hears why and replies again; the supervisor adopts it.
        handler.goto("/notifications")
        expect(handler.locator("body")).to_contain_text("请说明清运完成时间")
        open_task_from_inbox(pages, handler, code, "督办答复", "reply-again")
        expect(handler.locator(".facts")).to_contain_text("请说明清运完成时间")
        expect(handler.locator("[name=supervision_reply]")).to_have_value("")   # a new round starts empty
        handler.fill("[name=supervision_reply]", "已于16时清运完毕")
        submit_task(handler)
        open_task_from_inbox(pages, supervisor, code, "审核督办答复", "review-adopt")
        supervisor.get_by_label("采纳，督办办结", exact=True).check()
        submit_task(supervisor)

        # The case page tells the order's story; the board no longer lists it.
        supervisor.goto(f"/cases/{code}")
        section = supervisor.locator("#supervision")
        for words in ("重点督办", "环境卫生", "今日内清运完毕并回复", "已安排车辆前往清运", "请说明清运完成时间",
                      "已于16时清运完毕", "采纳，督办办结", "处置"):
            expect(section).to_contain_text(words)
        expect(section.locator("li.step")).to_have_count(5)
        pages.shot(supervisor, "case-supervision")
        supervisor.goto("/board")
        expect(supervisor.locator("#supervise-tasks")).not_to_contain_text(code)
