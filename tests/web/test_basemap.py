"""The self-hosted PMTiles basemap: served to signed-in users with HTTP range requests, drawn by both
maps, and refused at start (naming MAP_PMTILES_FILE) when it cannot be drawn."""
from __future__ import annotations

import pytest
from pmtiles.tile import TileType

from engine.settings import SettingsError
from web import create_app

from tests.basemap import write_basemap
from tests.web.pages import sign_in, text


@pytest.fixture
def basemap(tmp_path):
    return write_basemap(tmp_path / "dongcheng.pmtiles")


def app_with(database_url, **settings):
    return create_app({"DATABASE_URL": database_url, "TESTING": True, **settings})


def test_the_basemap_file_is_served_in_ranges_to_signed_in_users(demo_db, database_url, basemap):
    client = app_with(database_url, MAP_PMTILES_FILE=str(basemap)).test_client()
    assert client.get("/map/basemap.pmtiles").status_code == 302  # signed out: the sign-in page
    sign_in(client, "super_dhm")
    size = basemap.stat().st_size
    whole = client.get("/map/basemap.pmtiles")
    assert whole.status_code == 200 and whole.headers["Accept-Ranges"] == "bytes"
    assert whole.data == basemap.read_bytes() and whole.mimetype == "application/vnd.pmtiles"
    header = client.get("/map/basemap.pmtiles", headers={"Range": "bytes=0-126"})
    assert header.status_code == 206 and header.headers["Content-Range"] == f"bytes 0-126/{size}"
    assert header.data == basemap.read_bytes()[:127] and header.data.startswith(b"PMTiles\x03")
    # The reader's first request asks for 16 KiB; a smaller file answers what it has.
    first = client.get("/map/basemap.pmtiles", headers={"Range": "bytes=0-16383"})
    assert first.status_code == 206 and first.headers["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    tail = client.get("/map/basemap.pmtiles", headers={"Range": f"bytes={size - 10}-{size - 1}"})
    assert tail.status_code == 206 and tail.data == basemap.read_bytes()[-10:]
    beyond = client.get("/map/basemap.pmtiles", headers={"Range": f"bytes={size + 5}-{size + 9}"})
    assert beyond.status_code == 416


def test_both_maps_name_the_served_basemap_and_load_the_pmtiles_reader(demo_db, database_url, basemap):
    client = app_with(database_url, MAP_PMTILES_FILE=str(basemap), MAP_TILE_ATTRIBUTION="区测绘院").test_client()
    sign_in(client, "clerk_dhm")
    for path in ("/map", "/report"):
        page = text(client.get(path))
        assert 'data-tiles="" data-pmtiles="/map/basemap.pmtiles" data-min-zoom="11" data-max-zoom="16"' in page
        assert 'data-attribution="区测绘院"' in page
        assert '<script src="/static/vendor/pmtiles/pmtiles.js"></script>' in page
    plain = app_with(database_url).test_client()  # no basemap: no reader, nothing to fetch
    sign_in(plain, "clerk_dhm")
    page = text(plain.get("/map"))
    assert 'data-pmtiles=""' in page and "pmtiles.js" not in page
    assert plain.get("/map/basemap.pmtiles").status_code == 404


def test_a_basemap_that_cannot_be_drawn_stops_the_start_naming_the_setting(database_url, tmp_path, basemap):
    refused = {
        "missing": (tmp_path / "nowhere.pmtiles", "cannot read"),
        "a folder": (tmp_path, "cannot read"),
        "not pmtiles": (tmp_path / "tiles.mbtiles", "is not a PMTiles archive"),
        "vector": (write_basemap(tmp_path / "vector.pmtiles", tile_type=TileType.MVT), "MVT vector tiles"),
    }
    (tmp_path / "tiles.mbtiles").write_bytes(b"SQLite format 3\x00" + bytes(200))
    for case, (path, rule) in refused.items():
        with pytest.raises(SettingsError, match=rf"^MAP_PMTILES_FILE: .*{rule}") as caught:
            app_with(database_url, MAP_PMTILES_FILE=str(path))
        assert str(path) in str(caught.value), case
    with pytest.raises(SettingsError, match="MAP_TILE_URL and MAP_PMTILES_FILE"):
        app_with(database_url, MAP_PMTILES_FILE=str(basemap), MAP_TILE_URL="https://tiles.example.gov.cn/{z}/{x}/{y}.png")


def test_serve_refuses_a_missing_basemap_before_any_worker_starts(run_gridflow, monkeypatch, tmp_path):
    assert run_gridflow("init").exit_code == 0
    monkeypatch.setenv("GRIDFLOW_MAP_PMTILES_FILE", str(tmp_path / "gone.pmtiles"))
    served = run_gridflow("serve")
    assert served.exit_code == 1
    assert served.output.startswith("error: MAP_PMTILES_FILE: cannot read") and "gone.pmtiles" in served.output
