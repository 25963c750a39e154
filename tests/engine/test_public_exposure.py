"""What the public sees of a case without its secret, at each PUBLIC_LOCATION level, and the
Open311 discovery section of the public file."""
from __future__ import annotations

import tomllib

import pytest

from engine.errors import NotFound
from engine.public import tracking
from engine.public.texts import PublicFileError, parse

pytestmark = pytest.mark.usefixtures("clock")


@pytest.mark.parametrize("level, text, code, point", [
    ("address", "南池子大街12号", "110101001001001", (39.9119, 116.3993)),
    ("grid", None, "110101001001001", (39.91, 116.4)),
    ("community", "南池子社区", "110101001001", (39.91, 116.4)),
    ("street", "东华门街道", "110101001", (39.91, 116.4)),
])
def test_the_public_place_is_as_precise_as_configured(driver, level, text, code, point):
    driver.rt.settings.update(PUBLIC_LOCATION=level)
    case = driver.report("clerk_dhm", source="hotline", lat=39.9119, lng=116.3993)
    public = tracking.public_case(driver.session, driver.rt, case.code)
    assert (public.location_code, (public.lat, public.lng)) == (code, point)
    assert public.address == (text or case.grid.name)
    assert level == "address" or "南池子大街" not in public.address
    mine = tracking.reporter_case(driver.session, driver.rt, case.code, case.tracking_secret).public
    assert (mine.address, mine.lat, mine.location_code) == ("南池子大街12号", 39.9119, "110101001001001")


def test_a_patrol_case_is_not_public_unless_its_source_is_listed(driver):
    case = driver.report()  # grid_dhm_01 on patrol
    with pytest.raises(NotFound):
        tracking.public_case(driver.session, driver.rt, case.code)
    driver.rt.settings.update(PUBLIC_SOURCES=["patrol"])
    assert tracking.public_case(driver.session, driver.rt, case.code).stage == "accept"


def test_the_discovery_section_is_checked():
    zoned = tomllib.loads("t = 2026-11-20T09:00:00+08:00")["t"]
    about = parse({"open311": {"discovery": {"contact": "c", "changeset": zoned, "type": "test"}}}).discovery
    assert (about.contact, about.changeset, about.type) == ("c", "2026-11-20T09:00:00+08:00", "test")
    with pytest.raises(PublicFileError, match="changeset"):
        parse({"open311": {"discovery": {"changeset": "last week"}}})
    with pytest.raises(PublicFileError, match="type"):
        parse({"open311": {"discovery": {"type": "staging"}}})

