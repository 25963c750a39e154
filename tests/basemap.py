"""A small real PMTiles basemap for the map tests: PNG tiles over the demo city, written with the
`pmtiles` package's writer, in a colour a test can find on the screen."""
from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write

# 东城区's demo grids lie within this box (WGS-84).
WEST, SOUTH, EAST, NORTH = 116.38, 39.90, 116.43, 39.95
TILE_COLOUR = (255, 236, 179)  # a pale amber no other part of the map uses


def tile_range(z: int) -> tuple[range, range]:
    """The x and y of the Web Mercator tiles at zoom z that cover the box."""
    def x(lng: float) -> int:
        return int((lng + 180) / 360 * 2 ** z)

    def y(lat: float) -> int:
        rad = math.radians(lat)
        return int((1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * 2 ** z)
    return range(x(WEST), x(EAST) + 1), range(y(NORTH), y(SOUTH) + 1)


def png_tile(colour=TILE_COLOUR) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(out, "PNG")
    return out.getvalue()


def write_basemap(path: Path, *, zooms=range(11, 17), tile_type: TileType = TileType.PNG) -> Path:
    """Write a PMTiles v3 archive of one-colour PNG tiles covering the demo city at ``zooms``."""
    data = png_tile()
    tiles = sorted(zxy_to_tileid(z, x, y) for z in zooms for xs, ys in [tile_range(z)] for x in xs for y in ys)
    with write(str(path)) as writer:
        for tile_id in tiles:
            writer.write_tile(tile_id, data)
        writer.finalize({"tile_type": tile_type, "tile_compression": Compression.NONE,
                         "min_lon_e7": int(WEST * 1e7), "min_lat_e7": int(SOUTH * 1e7),
                         "max_lon_e7": int(EAST * 1e7), "max_lat_e7": int(NORTH * 1e7),
                         "center_zoom": 14, "center_lon_e7": int((WEST + EAST) / 2 * 1e7),
                         "center_lat_e7": int((SOUTH + NORTH) / 2 * 1e7)},
                        {"name": "gridflow test basemap", "attribution": "测试底图"})
    return path
