"""A self-hosted PMTiles basemap in Chromium: both maps read it by HTTP range requests and draw its
tiles under the grids; nothing comes from outside the server."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.basemap import write_basemap
from tests.browser.conftest import PHONE
from tests.browser.test_map import outside_requests


@pytest.fixture
def live_settings(tmp_path):
    return {"MAP_PMTILES_FILE": str(write_basemap(tmp_path / "dongcheng.pmtiles")),
            "MAP_TILE_ATTRIBUTION": "测试底图"}


def ranges_asked(page) -> list[tuple[str, int]]:
    """The Range header and status of every answer for the basemap file."""
    seen: list[tuple[str, int]] = []
    page.on("response", lambda r: r.url.endswith("/map/basemap.pmtiles")
            and seen.append((r.request.headers.get("range", ""), r.status)))
    return seen


def drawn_tiles(page, selector: str) -> int:
    """How many basemap tiles the map shows: images made from the file's bytes, decoded at 256 px."""
    return page.evaluate("""selector => Promise.all(
        Array.from(document.querySelectorAll(selector + " img.leaflet-tile"))
          .filter(img => img.src.startsWith("blob:"))
          .map(img => img.decode().then(() => img.naturalWidth === 256, () => false))
      ).then(drawn => drawn.filter(Boolean).length)""", selector)


def test_the_map_and_the_report_picker_draw_the_pmtiles_basemap_by_range_requests(pages, live_server):
    supervisor = pages.open("super_dhm")
    outside = outside_requests(supervisor, live_server.url)
    asked = ranges_asked(supervisor)
    supervisor.goto("/map")
    supervisor.wait_for_selector("#case-map[data-ready=true]")
    expect(supervisor.locator('#case-map img.leaflet-tile[src^="blob:"]').nth(3)).to_be_attached()
    expect(supervisor.locator("#case-map .leaflet-control-attribution")).to_contain_text("测试底图")
    expect(supervisor.locator("#case-map path[data-grid]").first).to_be_visible()  # the grids on top
    assert drawn_tiles(supervisor, "#case-map") > 3
    assert asked and all(header.startswith("bytes=") and status == 206 for header, status in asked)
    pages.shot(supervisor, "map-with-basemap")
    assert outside == []

    clerk = pages.open("clerk_dhm", viewport=PHONE)
    clerk.goto("/report")
    clerk.wait_for_selector("#pick-map[data-ready=true]")
    expect(clerk.locator('#pick-map img.leaflet-tile[src^="blob:"]').first).to_be_attached()
    assert drawn_tiles(clerk, "#pick-map") > 0
    pages.shot(clerk, "picker-with-basemap")
