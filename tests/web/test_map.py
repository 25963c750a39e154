"""The map page and the report page's point picker, through the app factory."""
from __future__ import annotations

import html
import json
import re
import pytest
from sqlalchemy import select

from engine.city.coords import wgs84_to_gcj02
from models import Case
from tests.timekeeping import at
from tests.web.pages import text

GRID = "110101001001001"
GRID_2 = "110101001001002"
IN_GRID_2 = (39.9119, 116.4017)


def map_data(response) -> dict:
    found = re.search(r"data-geojson='([^']*)'", text(response))
    return json.loads(html.unescape(found.group(1)))


def reported(c, **fields) -> str:
    data = {"csrf_token": c.csrf, "category_code": "E0102", "address": "南池子大街12号",
            "description": "路边堆放生活垃圾", "urgency": "normal", "source": "patrol", **fields}
    r = c.post("/report", data=data, content_type="multipart/form-data")
    assert r.status_code == 302, text(r)[:2000]
    return r.headers["Location"].rsplit("/", 1)[-1]


def test_the_map_draws_the_units_grids_and_cases_coloured_by_sla_state(client_for, clock):
    clerk = client_for("clerk_dhm")
    code = reported(clerk, grid_code="", lat=str(IN_GRID_2[0]), lng=str(IN_GRID_2[1]))
    page = client_for("super_dhm").get("/map")
    assert page.status_code == 200 and 'id="case-map"' in text(page)
    features = map_data(page)["features"]
    grids = {f["properties"]["code"]: f for f in features if f["properties"]["kind"] == "grid"}
    points = [f for f in features if f["properties"]["kind"] == "case"]
    assert GRID in grids and all(c.startswith("110101001") for c in grids)  # 东华门 street only
    assert grids[GRID_2]["geometry"]["type"] == "Polygon" and grids[GRID_2]["properties"]["cases"] == 1
    assert [(p["properties"]["code"], p["properties"]["sla"], p["geometry"]["coordinates"]) for p in points] == \
        [(code, "on_time", [IN_GRID_2[1], IN_GRID_2[0]])]
    # Two days later, still not accepted, the case is overdue: its point turns red, its grid counts it.
    clock.move_to(at(27, 17))
    later = map_data(client_for("super_dhm").get("/map"))["features"]
    assert [f["properties"]["sla"] for f in later if f["properties"]["kind"] == "case"] == ["overdue"]
    shaded = next(f for f in later if f["properties"].get("code") == GRID_2)["properties"]
    assert (shaded["cases"], shaded["overdue"], shaded["overdue_rate"]) == (1, 1, 1.0)


def test_the_map_keeps_to_the_users_units_and_roles(client_for):
    other = map_data(client_for("super_district").get("/map"))["features"]
    assert len({f["properties"]["code"][:9] for f in other if f["properties"]["kind"] == "grid"}) > 1
    assert client_for("grid_dhm_01").get("/map").status_code == 403  # grid workers report; they have no map


def test_filters_and_period_narrow_the_points_and_the_shading(client_for):
    clerk = client_for("clerk_dhm")
    reported(clerk, grid_code="", lat=str(IN_GRID_2[0]), lng=str(IN_GRID_2[1]))
    supervisor = client_for("super_dhm")
    none = map_data(supervisor.get("/map?created_from=2000-01-01&created_to=2000-01-31"))["features"]
    assert not [f for f in none if f["properties"]["kind"] == "case"]
    assert all(f["properties"]["cases"] == 0 for f in none if f["properties"]["kind"] == "grid")
    other_category = map_data(supervisor.get("/map?category=E0201"))["features"]
    assert not [f for f in other_category if f["properties"]["kind"] == "case"]
    bad = supervisor.get("/map?category=garbage")
    assert bad.status_code == 200 and 'role="alert"' in text(bad)


def test_the_picker_finds_the_grid_of_a_point_in_either_datum(client_for):
    worker = client_for("clerk_dhm")
    area = worker.get("/places/area").get_json()
    assert {f["properties"]["code"] for f in area["features"]} >= {GRID, GRID_2}
    found = worker.get(f"/places/at?lat={IN_GRID_2[0]}&lng={IN_GRID_2[1]}").get_json()
    assert found["code"] == GRID_2 and found["name"]
    gcj = wgs84_to_gcj02(*IN_GRID_2)
    converted = worker.get(f"/places/at?lat={gcj[0]}&lng={gcj[1]}&coord_system=gcj02").get_json()
    assert converted["code"] == GRID_2 and converted["lat"] == pytest.approx(IN_GRID_2[0], abs=1e-6)
    outside = worker.get("/places/at?lat=31.2304&lng=121.4737")
    assert outside.status_code == 422 and "31.230400, 121.473700" in outside.get_json()["errors"]["lat"][0]
    assert worker.get("/places/at?lat=x&lng=1").status_code == 422
    assert worker.get("/places/at?lat=39.9&lng=116.4&coord_system=bd09").get_json()["errors"]["coord_system"]


def test_the_report_page_places_a_gcj02_point_and_refuses_one_outside_the_city(client_for, demo_db):
    clerk = client_for("clerk_dhm")
    page = text(clerk.get("/report"))
    assert 'id="pick-map"' in page and 'name="coord_system"' in page and "<script>" not in page
    gcj = wgs84_to_gcj02(*IN_GRID_2)
    code = reported(clerk, grid_code="", lat=f"{gcj[0]:.7f}", lng=f"{gcj[1]:.7f}", coord_system="gcj02")
    with demo_db() as s:  # stored as WGS-84, in the grid of the WGS-84 point
        case = s.scalars(select(Case).where(Case.code == code)).one()
        assert (case.lat, case.lng) == pytest.approx(IN_GRID_2, abs=1e-6) and case.grid.code == GRID_2
    r = clerk.post("/report", data={"csrf_token": clerk.csrf, "category_code": "E0102", "grid_code": "",
                                    "lat": "31.2304", "lng": "121.4737", "description": "路边堆放生活垃圾",
                                    "source": "hotline"}, content_type="multipart/form-data")
    assert r.status_code == 422 and "31.230400, 121.473700" in text(r)
