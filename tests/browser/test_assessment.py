"""The assessment page in headless Chromium: the ranking, both ECharts charts drawn (under the
Content-Security-Policy, from static files), and a drill-down that lands on the cases behind it."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_walkthrough import GRID, open_task
from tests.web.pages import sign_in

pytestmark = pytest.mark.browser


def report_and_accept(app, decisions):
    codes = []
    for decision in decisions:
        client = app.test_client()
        csrf = sign_in(client, "grid_dhm_01")
        r = client.post("/report", data={"csrf_token": csrf, "category_code": "E0102", "grid_code": GRID,
                                         "address": "南池子大街12号", "description": "路边堆放生活垃圾"})
        code = r.headers["Location"].rsplit("/", 1)[-1]
        client = app.test_client()
        csrf = sign_in(client, "clerk_dhm")
        form = {"decision": decision, **({"cancel_reason": "invalid"} if decision == "cancel" else {})}
        r = client.post(f"/tasks/{open_task(app, code, 'accept')}", data={"csrf_token": csrf, **form})
        assert r.status_code == 302, r.get_data(as_text=True)[-1000:]
        codes.append(code)
    return codes


def test_the_assessment_page_draws_its_charts_and_drills_down_to_the_cases(pages, live_server):
    filed, cancelled, also_filed = report_and_accept(live_server.app, ["file", "cancel", "file"])
    leader = pages.open("leader_dhm")
    leader.get_by_role("link", name="综合评价").click()
    expect(leader.locator("h1")).to_have_text("综合评价")
    row = leader.locator("#ranking tr[data-key='110101001']")
    expect(row).to_contain_text("东华门街道")
    expect(row).to_contain_text("66.67 %")
    for chart in ("#trend-chart", "#compare-chart"):
        expect(leader.locator(f"{chart}[data-chart-ready='1'] svg")).to_have_count(1)
    expect(leader.locator("#trend-chart svg")).to_contain_text("结案率")    # the legend is drawn
    expect(leader.locator("#two-way-scores")).to_be_visible()
    pages.shot(leader, "assessment")
    row.locator("a.figure[href$='indicator=filed']").first.click()
    expect(leader.locator("h1")).to_have_text("数字背后的案件")
    links = leader.locator("#behind-cases a")
    expect(links).to_have_count(2)
    assert sorted(links.all_inner_texts()) == sorted([filed, also_filed])
    pages.shot(leader, "assessment-cases")
    links.first.click()
    expect(leader).to_have_url(re.compile(r"/cases/GF\d+$"))
    # 注销 by reason: the reason named as on the acceptance form, its count opens the cancelled case.
    leader.go_back()
    leader.go_back()
    reasons = leader.locator("#breakdown-cancelled")
    expect(reasons).to_contain_text("注销原因")
    expect(reasons.locator("tr[data-detail='invalid']")).to_contain_text("无效信息")
    reasons.locator("tr[data-detail='invalid'] a.figure").click()
    expect(leader.locator("#behind-cases a")).to_have_text([cancelled])
