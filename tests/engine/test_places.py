"""Places: a point goes to the grid that covers it, whatever the channel's datum; GCJ-02 converts."""
from __future__ import annotations

import pytest
from shapely.geometry import box
from sqlalchemy import select

from engine.city.coords import gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02
from engine.city.places import GridIndex, grid_index
from engine.errors import InputError, OutsideGrids
from engine.lifecycle import cases as case_service
from models import OrgUnit

from tests.engine.conftest import GARBAGE, GRID

GRID_2 = "110101001001002"  # east of GRID, sharing the edge lng 116.4005
INSIDE_GRID = (39.9119, 116.3993)
INSIDE_GRID_2 = (39.9119, 116.4017)
CLERK = {"username": "clerk_dhm", "source": "hotline"}  # the street's clerk may report in all its grids


# Published reference points of the GCJ-02 formula (coordtransform's, also hutool's tests), WGS-84 → GCJ-02.
@pytest.mark.parametrize("wgs, gcj, places", [
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938), 12),  # Beijing, near Tian'anmen
    ((40.0, 116.0), (40.001213650174, 116.006141221789), 6),
    ((30.6107779, 121.0917077), (30.608604331756705, 121.09626935575027), 6),  # near Shanghai
])
def test_wgs84_to_gcj02_matches_published_points(wgs, gcj, places):
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=10 ** -places)


def test_gcj02_to_wgs84_inverts_the_offset_to_a_millimetre():
    # gcoord's published inverse of (lng 123, lat 45), within 2 cm (its iteration stops earlier)
    assert gcj02_to_wgs84(45.0, 123.0) == pytest.approx((44.99804071, 122.99395597), abs=2e-7)
    for lat, lng in [(39.915, 116.404), (22.54, 114.06), (45.75, 126.63), (18.25, 109.5)]:
        back = wgs84_to_gcj02(*gcj02_to_wgs84(lat, lng))
        assert back == pytest.approx((lat, lng), abs=1e-8)  # about 1 mm
        shift = abs(gcj02_to_wgs84(lat, lng)[0] - lat) + abs(gcj02_to_wgs84(lat, lng)[1] - lng)
        assert 1e-4 < shift < 1e-2  # the offset is real: tens to hundreds of metres


def test_points_outside_china_are_not_offset():
    assert wgs84_to_gcj02(48.8584, 2.2945) == (48.8584, 2.2945)
    assert to_wgs84(48.8584, 2.2945, "gcj02") == (48.8584, 2.2945)
    with pytest.raises(ValueError):
        to_wgs84(39.9, 116.4, "bd09")


def test_a_point_on_a_shared_edge_goes_to_the_lowest_grid_code():
    # Given out of order: the tie-break is the code, not the order of the rows.
    index = GridIndex([("B2", box(1, 0, 2, 1)), ("A1", box(0, 0, 1, 1)), ("C3", box(0, 1, 2, 2))])
    assert index.grid_at(0.5, 1.0) == "A1"  # edge of A1 and C3
    assert index.grid_at(0.5, 1.5) == "B2"  # inside B2 only (lat 0.5, lng 1.5)
    assert index.grid_at(1.0, 1.0) == "A1"  # the corner of all three
    assert index.grid_at(0.0, 0.0) == "A1"  # on the outer boundary: covered, not outside
    assert index.grid_at(5.0, 5.0) is None


def test_a_reported_point_places_the_case_in_the_grid_that_covers_it(driver):
    case = driver.report(**CLERK, grid_code=None, lat=INSIDE_GRID_2[0], lng=INSIDE_GRID_2[1])
    assert case.grid.code == GRID_2 and (case.lat, case.lng) == INSIDE_GRID_2
    on_edge = driver.report(**CLERK, grid_code=None, lat=39.9119, lng=116.4005)
    assert on_edge.grid.code == GRID  # 110101001001001 < 110101001001002


def test_a_gcj02_point_is_stored_as_wgs84_and_placed_by_it(driver):
    gcj = wgs84_to_gcj02(*INSIDE_GRID_2)  # what a phone's map SDK reports there, ~500 m away
    case = driver.report(**CLERK, grid_code=None, lat=gcj[0], lng=gcj[1], coord_system="gcj02")
    assert case.grid.code == GRID_2
    assert (case.lat, case.lng) == pytest.approx(INSIDE_GRID_2, abs=1e-7)


def test_a_point_outside_every_grid_is_refused_naming_it(driver):
    with pytest.raises(OutsideGrids) as refused:
        driver.report(**CLERK, grid_code=None, lat=31.2304, lng=121.4737)
    assert "31.230400, 121.473700" in refused.value.errors["lat"][0]
    driver.session.rollback()


def test_a_grid_code_sent_with_a_point_must_be_the_grid_of_the_point(driver):
    with pytest.raises(InputError) as refused:
        driver.report(**CLERK, grid_code=GRID, lat=INSIDE_GRID_2[0], lng=INSIDE_GRID_2[1])
    assert refused.value.errors["grid_code"] == [f"The point lies in grid {GRID_2}, not in grid {GRID}."]
    driver.session.rollback()
    assert driver.report(**CLERK, grid_code=GRID, lat=INSIDE_GRID[0], lng=INSIDE_GRID[1]).grid.code == GRID


@pytest.mark.parametrize("fields, field", [
    ({"coord_system": "bd09"}, "coord_system"),
    ({"lat": "north"}, "lat"),
    ({"lat": 91.0}, "lat"),
    ({"lat": None, "lng": None, "grid_code": None}, "grid_code"),
])
def test_bad_points_name_their_field(driver, fields, field):
    report = {"grid_code": None, "lat": INSIDE_GRID[0], "lng": INSIDE_GRID[1], **fields}
    with pytest.raises(InputError) as refused:
        driver.report(**CLERK, **report)
    assert field in refused.value.errors
    driver.session.rollback()


def test_a_deactivated_grid_takes_no_more_cases_in_every_process(driver, demo_db):
    assert grid_index(driver.session).grid_at(*INSIDE_GRID_2) == GRID_2  # loaded and kept
    with demo_db() as other:  # another process's write: an admin deactivates the grid
        other.scalars(select(OrgUnit).where(OrgUnit.code == GRID_2)).one().active = False
        other.commit()
    driver.session.commit()  # a new transaction sees the new stamp
    with pytest.raises(OutsideGrids):
        driver.report(**CLERK, grid_code=None, lat=INSIDE_GRID_2[0], lng=INSIDE_GRID_2[1])
    driver.session.rollback()
    with pytest.raises(InputError) as refused:
        driver.report(**CLERK, grid_code=GRID_2)
    assert refused.value.errors["grid_code"] == ["Unknown grid code."]
    driver.session.rollback()
    assert driver.report(category_code=GARBAGE).grid.code == GRID


def test_only_a_real_change_of_an_org_unit_changes_the_city_stamp(driver, demo_db):
    from models import CityStamp
    stamp = lambda: driver.session.scalar(select(CityStamp.stamp))
    before = stamp()
    assert before
    grid = driver.session.scalars(select(OrgUnit).where(OrgUnit.code == GRID)).one()
    grid.active, grid.name = True, grid.name  # the same values: nothing to reload
    driver.session.commit()
    assert stamp() == before
    grid.name = "南池子社区第一网格"
    driver.session.commit()
    assert stamp() != before
