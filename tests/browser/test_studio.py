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
