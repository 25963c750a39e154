"""The studio's scenario tests in a real browser: the draft's scenarios pass; a routing rule changed
in dmn-js makes the scenario that depends on it fail, naming the step, pinned on the diagram."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_studio import _open_draft, route_to_hw


def test_a_designer_runs_the_scenarios_breaks_a_routing_rule_and_sees_the_scenario_fail(pages):
    page = _open_draft(pages)
    page.click("#studio-run-scenarios")
    expect(page.locator('#studio[data-scenarios="passed"]')).to_be_attached(timeout=120_000)
    expect(page.locator('#studio-scenarios-list li[data-result="passed"]')).to_have_count(36)
    expect(page.locator("#studio-scenarios-summary")).to_contain_text("175")
    pages.shot(page, "scenarios-passed")

    route_to_hw(page)

    page.click("#studio-run-scenarios")
    expect(page.locator('#studio[data-scenarios="failed"]')).to_be_attached(timeout=120_000)
    failed = page.locator('#studio-scenarios-list li[data-result="failed"]')
    expect(failed).to_have_count(1)
    expect(failed).to_have_attribute("data-scenario", "routing/department_illegal_building")
    expect(failed).to_contain_text("step 2 (dispatch as dispatch_dhm): expected department CG, got HW")
    expect(page.locator("#studio-scenarios-summary")).to_contain_text("1")
    pages.shot(page, "scenario-failed")

    # The failure is pinned to 派遣 on the diagram; the list entry opens it.
    failed.click()
    expect(page.locator('#studio[data-open="grid_case.bpmn"]')).to_be_attached()
    expect(page.locator('.studio-scenario-badge[data-element="dispatch"]')).to_be_visible()
    pages.shot(page, "scenario-pinned")
