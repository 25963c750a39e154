"""The map in a real browser: grids and case points drawn and clickable, the report page's picker
finding the grid of a tapped point; nothing is fetched from outside the server."""
from __future__ import annotations

import json
import re
from urllib.parse import urlparse

from playwright.sync_api import expect
from sqlalchemy import select

from demo.loader import DEMO_CITY
from models import Case
from tests.browser.conftest import PHONE
from tests.web.pages import sign_in

GRID_2 = "110101001001002"  # 南池子社区第2网格


def report_at(app, lat: float, lng: float) -> str:
    client = app.test_client()
    csrf = sign_in(client, "clerk_dhm")
    r = client.post("/report", data={"csrf_token": csrf, "category_code": "E0102", "grid_code": "",
                                     "source": "patrol", "lat": str(lat), "lng": str(lng),
                                     "address": "南池子大街20号", "description": "路边堆放生活垃圾"})
    assert r.status_code == 302, r.get_data(as_text=True)[-1500:]
    return r.headers["Location"].rsplit("/", 1)[-1]


def outside_requests(page, base_url: str) -> list[str]:
    seen: list[str] = []
    host = urlparse(base_url).netloc
    page.on("request", lambda r: urlparse(r.url).netloc not in ("", host) and seen.append(r.url))
    return seen


def test_the_map_draws_grids_and_case_points_and_a_point_opens_its_case(pages, live_server):
    code = report_at(live_server.app, 39.9119, 116.4017)
    supervisor = pages.open("super_dhm")
    outside = outside_requests(supervisor, live_server.url)
    supervisor.goto("/map")
    supervisor.wait_for_selector("#case-map[data-ready=true]")
    street_grids = [f for f in json.loads((DEMO_CITY / "grids.geojson").read_text(encoding="utf-8"))["features"]
                    if f["properties"]["code"].startswith("110101001")]
    expect(supervisor.locator("#case-map path[data-grid]")).to_have_count(len(street_grids))  # 东华门街道's
    grid = supervisor.locator(f'#case-map path[data-grid="{GRID_2}"]')
    expect(grid).to_have_count(1)
    point = supervisor.locator(f'#case-map path[data-case="{code}"]')
    expect(point).to_have_attribute("data-sla", "on_time")
    grid.hover(position={"x": 5, "y": 5})
    expect(supervisor.locator(".leaflet-tooltip")).to_contain_text("南池子社区第2网格")
    pages.shot(supervisor, "map")
    point.click()
    supervisor.wait_for_url(re.compile(f"/cases/{code}$"))
    expect(supervisor.locator(".case-head")).to_contain_text(code)
    assert outside == []


def test_the_report_page_picks_the_point_on_the_map_and_shows_its_grid(pages, live_server):
    clerk = pages.open("clerk_dhm", viewport=PHONE)
    outside = outside_requests(clerk, live_server.url)
    clerk.goto("/report")
    clerk.wait_for_selector("#pick-map[data-ready=true]")
    clerk.locator(f'#pick-map path[data-grid="{GRID_2}"]').click()
    expect(clerk.locator("#pick-found")).to_have_attribute("data-grid", GRID_2)
    expect(clerk.locator("#pick-found")).to_contain_text("南池子社区第2网格")
    expect(clerk.locator("select[name=grid_code]")).to_have_value(GRID_2)
    lat = float(clerk.input_value("input[name=lat]"))
    assert 39.9110 < lat < 39.9128 and clerk.input_value("select[name=coord_system]") == "wgs84"
    pages.shot(clerk, "report-picked")
    clerk.fill("#category-search", "垃圾")
    clerk.get_by_label("E0102 暴露垃圾").check()
    clerk.fill("#in-description", "路边堆放生活垃圾")
    clerk.locator("form button.primary").click()
    expect(clerk.locator("h1")).to_contain_text("已登记")  # a resident's report: the clerk gets the link
    with live_server.app.extensions["gridflow.sessions"]() as session:
        case = session.scalars(select(Case).order_by(Case.id.desc())).first()
        assert case.grid.code == GRID_2 and 39.9110 < case.lat < 39.9128
    assert outside == []
