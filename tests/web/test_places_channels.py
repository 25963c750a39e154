"""Every channel places a report by its point: the API and Open311, in WGS-84 or GCJ-02."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.city.coords import wgs84_to_gcj02
from models import Case
from tests.web.test_open311 import api_key, post  # noqa: F401 (a fixture)

GRID_2 = "110101001001002"
IN_GRID_2 = (39.9119, 116.4017)
GCJ = wgs84_to_gcj02(*IN_GRID_2)
REPORT = {"category_code": "E0102", "address": "南池子大街20号", "description": "路边堆放生活垃圾", "source": "hotline"}

pytestmark = pytest.mark.usefixtures("clock")


def stored(demo_db, code) -> Case:
    with demo_db() as s:
        case = s.scalars(select(Case).where(Case.code == code)).one()
        return case, case.grid.code


def test_the_api_places_a_case_by_its_point_in_either_datum(client, token, demo_db):
    clerk = token("clerk_dhm")
    for body in ({**REPORT, "lat": IN_GRID_2[0], "lng": IN_GRID_2[1]},
                 {**REPORT, "lat": GCJ[0], "lng": GCJ[1], "coord_system": "gcj02"}):
        r = client.post("/api/v1/cases", json=body, headers=clerk)
        assert r.status_code == 201, r.get_json()
        case, grid = stored(demo_db, r.get_json()["code"])
        assert grid == GRID_2 and (case.lat, case.lng) == pytest.approx(IN_GRID_2, abs=1e-6)


@pytest.mark.parametrize("body, field, words", [
    ({"lat": 31.2304, "lng": 121.4737}, "lat", "31.230400, 121.473700"),
    ({"lat": IN_GRID_2[0], "lng": IN_GRID_2[1], "grid_code": "110101001001001"}, "grid_code", GRID_2),
    ({"lat": IN_GRID_2[0], "lng": IN_GRID_2[1], "coord_system": "bd09"}, "coord_system", "wgs84"),
    ({}, "grid_code", "lat and lng"),
])
def test_the_api_refuses_a_point_it_cannot_place_naming_it(client, token, demo_db, body, field, words):
    r = client.post("/api/v1/cases", json={**REPORT, **body}, headers=token("clerk_dhm"))
    errors = {e["field"]: e["message"] for e in r.get_json()["errors"]}
    assert r.status_code == 422 and words in errors[field], errors
    with demo_db() as s:
        assert s.scalar(select(Case.id)) is None


def test_open311_places_a_gcj02_point_and_answers_422_outside_every_grid(client, api_key, demo_db):
    r = post(client, api_key, lat=f"{GCJ[0]:.7f}", long=f"{GCJ[1]:.7f}", coord_system="gcj02")
    assert r.status_code == 201, r.get_data(as_text=True)
    case, grid = stored(demo_db, r.get_json()[0]["service_request_id"])
    assert grid == GRID_2 and case.lat == pytest.approx(IN_GRID_2[0], abs=1e-6)
    outside = post(client, api_key, lat="31.2304", long="121.4737")
    assert outside.status_code == 422 and "31.230400, 121.473700" in outside.get_json()[0]["description"]
    assert post(client, api_key, coord_system="bd09").status_code == 400
