"""The designer studio in a real browser: the modeller opens the current version with bpmnlint
clean, a property and a routing rule are changed in bpmn-js and dmn-js, the server check finds
nothing (or pins what it finds to the element), and the draft is deployed with a note."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import undefer

from models import ProcessVersion


def _open_draft(pages):
    page = pages.open("designer")
    page.goto("/studio")
    page.click("#new-draft")
    page.wait_for_url(re.compile(r"/studio/drafts/\d+$"))
    expect(page.locator('#studio[data-open="grid_case.bpmn"]')).to_be_attached()
    expect(page.locator("#studio-canvas .djs-container")).to_be_visible()
    return page


def route_to_hw(page):
    """In dmn-js's decision table, the first rule sending a case to 城管 (私搭乱建 in a core area)
    now sends it to 环卫."""
    page.click('.studio-tab[data-file="routing.dmn"]')
    expect(page.locator('#studio[data-open="routing.dmn"]')).to_be_attached()
    cell = page.locator("#studio-dmn td.output-cell", has_text='"CG"').first
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"HW"')
    page.click(".studio-actions")  # leave the cell


def _general(page):
    """The name field of the properties panel's General group (opened when it is closed)."""
    name = page.locator("#bio-properties-panel-name")
    if not name.is_visible():
        page.click('.bio-properties-panel-group-header:has-text("General")')
    expect(name).to_be_visible()
    return name


def test_a_designer_changes_a_property_and_a_routing_rule_and_deploys(pages, live_server):
    page = _open_draft(pages)
    # bpmnlint runs in the canvas with the recommended rules and gridflow's: the shipped diagram is clean.
    expect(page.locator(".bjsl-button-success")).to_be_visible()
    pages.shot(page, "modeller")

    # A property, in the properties panel: the name of 派遣.
    assert page.evaluate("gridflowStudio.select('dispatch')")
    pages.shot(page, "selected")
    name = _general(page)
    name.fill("派遣任务")
    name.press("Tab")

    # A routing rule, in dmn-js's decision table.
    route_to_hw(page)
    pages.shot(page, "routing-rule")

    page.click("#studio-check")
    expect(page.locator('#studio[data-checked="clean"]')).to_be_attached(timeout=30_000)
    expect(page.locator("#studio-problems li.ok")).to_be_visible()

    page.fill("#studio-deploy input[name=note]", "E0101 派遣环卫")
    page.click("#studio-deploy button.primary")
    page.wait_for_url(re.compile(r"/studio/v/2$"))
    expect(page.locator(".flash.success")).to_contain_text("2")
    pages.shot(page, "deployed")

    factory = live_server.app.extensions["gridflow.sessions"]
    with factory() as session:
        v2 = session.scalars(select(ProcessVersion).options(undefer(ProcessVersion.source_files))
                             .where(ProcessVersion.version == 2)).one()
        assert v2.note == "E0101 派遣环卫" and v2.deployed_by == "designer"
        assert 'name="派遣任务"' in v2.source_files["grid_case.bpmn"]
        assert '"HW"' in v2.source_files["routing.dmn"]

    page.goto("/studio/diff?a=1&b=2")
    expect(page.locator('li.change[data-element="dispatch"]')).to_contain_text("派遣任务")
    expect(page.locator("tr.rule.changed.after td.differs")).to_contain_text('"HW"')
    # Saving through bpmn-js and dmn-js rewrites the XML, but the comparison shows only the two edits.
    expect(page.locator("li.change")).to_have_count(1)
    expect(page.locator("tr.rule")).to_have_count(2)   # the changed rule, before and after


def test_a_lane_that_is_no_role_shows_in_the_canvas_and_the_server_pins_it_to_its_tasks(pages):
    page = _open_draft(pages)
    page.evaluate("gridflowStudio.select('Lane_acceptance_clerk')")
    name = _general(page)
    name.fill("受理")
    name.press("Tab")
    expect(page.locator(".bjsl-button-error")).to_be_visible()
    page.click("#studio-check")
    expect(page.locator('#studio[data-checked="problems"]')).to_be_attached(timeout=30_000)
    expect(page.locator('.studio-problem-badge[data-element="accept"]')).to_be_visible()
    expect(page.locator('#studio-problems li.problem[data-element="accept"]')).to_contain_text("受理")
    pages.shot(page, "problems-pinned")


def test_done_when_a_designer_changes_a_routing_rule_simulates_deploys_and_moves_the_running_cases(
        pages, live_server, demo_db, settings):
    """Issue 14's walk, in the browser only: open the current version, change a routing rule in
    dmn-js, see the simulation, deploy with a note, and move the running cases onto the new version."""
    from tests.engine.conftest import GARBAGE, ILLEGAL_BUILD, Driver

    driver = Driver(demo_db, settings)
    building = driver.report(category_code=ILLEGAL_BUILD)        # 私搭乱建, dispatched to 城管, waits at 签收
    driver.do(building, "accept", "clerk_dhm", decision="file")
    driver.do(building, "dispatch", "dispatch_dhm", level="department", department_code="CG")
    garbage = driver.report(category_code=GARBAGE)               # 暴露垃圾, waits at 受理
    codes = (building.code, garbage.code)
    driver.close()

    page = pages.open("designer")
    page.goto("/studio")
    page.click('tr[data-version="1"] a[href="/studio/v/1"]')      # the current version and its cases
    expect(page.locator("table.cases")).to_contain_text(building.code)
    page.goto("/studio")
    page.click("#new-draft")
    page.wait_for_url(re.compile(r"/studio/drafts/\d+$"))
    expect(page.locator("#studio-canvas .djs-container")).to_be_visible()

    route_to_hw(page)
    pages.shot(page, "routing-rule-changed")

    page.select_option('#studio-simulate select[name="days"]', "30")
    page.click("#simulate")                                      # saves what is on the screen first
    page.wait_for_url(re.compile(r"/studio/simulations/\d+$"), timeout=60_000)
    changes = page.locator("#department-changes strong a.figure")
    expect(changes).to_have_text("1")
    expect(page.locator('#routing-table tr.changed')).to_contain_text("CG")
    pages.shot(page, "simulation")
    changes.click()
    expect(page.locator(f'#figure-cases tr[data-case="{building.code}"]')).to_be_visible()
    expect(page.locator(f'#figure-cases tr[data-case="{garbage.code}"]')).to_have_count(0)
    pages.shot(page, "simulation-cases")
    page.go_back()
    page.click("a:has-text('草稿')")
    page.wait_for_url(re.compile(r"/studio/drafts/\d+$"))
    expect(page.locator("#simulation-runs li")).to_have_count(1)

    page.fill("#studio-deploy input[name=note]", "私搭乱建改派环卫")
    page.click("#studio-deploy button.primary")
    page.wait_for_url(re.compile(r"/studio/v/2$"))
    expect(page.locator(".flash.success")).to_contain_text("2")

    page.goto("/studio/migrate")
    page.select_option('#migrate-plan select[name="from"]', "1")
    page.select_option('#migrate-plan select[name="to"]', "2")
    page.click("#dry-run")
    expect(page.locator("#migrate-counts")).to_contain_text("2 件可迁移")
    pages.shot(page, "migrate-dry-run")
    page.click("#migrate")
    expect(page.locator(".flash.success")).to_contain_text("2 件案件已迁移到版本 2")
    page.goto("/studio/v/2")
    for code in codes:
        expect(page.locator("table.cases")).to_contain_text(code)
    pages.shot(page, "cases-on-v2")

    factory = live_server.app.extensions["gridflow.sessions"]
    with factory() as session:
        v2 = session.scalars(select(ProcessVersion).options(undefer(ProcessVersion.source_files))
                             .where(ProcessVersion.version == 2)).one()
        assert v2.note == "私搭乱建改派环卫" and '"HW"' in v2.source_files["routing.dmn"]
