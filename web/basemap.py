"""The maps' optional self-hosted basemap: a tile server inside the network (MAP_TILE_URL) or one
PMTiles file (MAP_PMTILES_FILE) that gridflow serves itself, with HTTP range requests, to the
browser's PMTiles reader. Checked when the app starts: a basemap that cannot be drawn stops it,
naming the setting, rather than leaving every map blank."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.settings import SettingsError

HEADER_BYTES = 127  # a PMTiles v3 archive starts with a fixed 127-byte header
# Tile types of the PMTiles v3 header (byte 99) that Leaflet draws as images.
RASTER_TYPES = {2: "PNG", 3: "JPEG", 4: "WebP", 5: "AVIF"}
VECTOR_TYPES = {1: "MVT", 6: "MLT"}


@dataclass(frozen=True)
class Basemap:
    """What the maps draw under the grids: nothing, a tile URL, or a served PMTiles file."""

    tile_url: str = ""
    pmtiles_file: str = ""
    attribution: str = ""
    min_zoom: int = 0
    max_zoom: int = 0


def read_basemap(config: dict) -> Basemap:
    """The configured basemap; SettingsError naming the setting when it cannot be drawn."""
    url = str(config.get("MAP_TILE_URL") or "")
    path = str(config.get("MAP_PMTILES_FILE") or "")
    attribution = str(config.get("MAP_TILE_ATTRIBUTION") or "")
    if url and path:
        raise SettingsError("MAP_TILE_URL and MAP_PMTILES_FILE are both set: give the maps one basemap")
    if not path:
        return Basemap(tile_url=url, attribution=attribution)
    try:
        with open(path, "rb") as fh:
            header = fh.read(HEADER_BYTES)
    except OSError as exc:
        raise SettingsError(f"MAP_PMTILES_FILE: cannot read {path} ({exc.strerror or exc})") from None
    if len(header) < HEADER_BYTES or header[:7] != b"PMTiles":
        raise SettingsError(f"MAP_PMTILES_FILE: {path} is not a PMTiles archive (it does not start with 'PMTiles')")
    if header[7] != 3:
        raise SettingsError(f"MAP_PMTILES_FILE: {path} is PMTiles version {header[7]}; the maps read version 3 "
                            "(convert it with `pmtiles convert`)")
    kind = header[99]
    if kind not in RASTER_TYPES:
        what = f"{VECTOR_TYPES[kind]} vector tiles" if kind in VECTOR_TYPES else f"tiles of unknown type {kind}"
        raise SettingsError(f"MAP_PMTILES_FILE: {path} holds {what}; the maps draw raster tiles "
                            f"({', '.join(RASTER_TYPES.values())})")
    return Basemap(pmtiles_file=str(Path(path).resolve()), attribution=attribution,
                   min_zoom=header[100], max_zoom=header[101])
