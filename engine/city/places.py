"""Place a point in the grid that covers it, with the active grids' polygons held in memory.

Each process loads every active grid's boundary once into an STRtree and reloads it when the
city's stamp (models.CityStamp, changed by any write to an org unit) is no longer the one it
loaded: an import, or a grid deactivated by an admin in another process. A point on a shared
edge or corner is covered by every grid that meets there; it goes to the one with the lowest
grid code, so that the same point always lands in the same grid.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import shapely
from shapely import STRtree
from shapely.geometry import box, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CityStamp, OrgUnit

from engine.city.coords import COORD_SYSTEMS, to_wgs84
from engine.errors import InputError, Message, OutsideGrids

_GRIDS = (select(OrgUnit.code, OrgUnit.geometry, OrgUnit.bbox)
          .where(OrgUnit.level == "grid", OrgUnit.active.is_(True)).order_by(OrgUnit.code))
_STAMP = select(CityStamp.stamp).where(CityStamp.id == 1)


class GridIndex:
    """The active grids' polygons, ordered by code, in an STRtree."""

    def __init__(self, grids: list[tuple[str, object]]):
        grids = sorted(grids, key=lambda g: g[0])
        self.codes = [code for code, _ in grids]
        self.polygons = [polygon for _, polygon in grids]
        shapely.prepare(self.polygons)
        self._tree = STRtree(self.polygons)

    def grid_at(self, lat: float, lng: float) -> str | None:
        """The code of the lowest-coded grid that covers the WGS-84 point, or None outside all."""
        # The tree's own covered_by test uses the prepared polygons; indexes follow code order.
        hits = self._tree.query(shapely.Point(lng, lat), predicate="covered_by")
        return self.codes[hits.min()] if len(hits) else None

    def __len__(self) -> int:
        return len(self.codes)


@dataclass
class _Loaded:
    stamp: str | None
    index: GridIndex


_loaded: dict[str, _Loaded] = {}
_lock = threading.Lock()


def grid_index(session: Session) -> GridIndex:
    """The grid index of the session's database, reloaded when its city has changed since."""
    stamp = session.scalar(_STAMP)
    key = str(session.get_bind().url)
    loaded = _loaded.get(key)
    if loaded is not None and stamp is not None and loaded.stamp == stamp:
        return loaded.index
    with _lock:
        grids = []
        for code, geometry, bbox in session.execute(_GRIDS):
            if geometry:
                grids.append((code, shape(geometry)))
            elif isinstance(bbox, list) and len(bbox) == 4:  # a grid made before boundaries were kept
                grids.append((code, box(*bbox)))
        index = GridIndex(grids)
        _loaded[key] = _Loaded(stamp, index)
        return index


def wgs84_point(lat, lng, coord_system: str | None) -> tuple[float, float]:
    """Read a reported point as WGS-84 (the stored datum); InputError naming the field when it is bad."""
    system = coord_system or "wgs84"
    if system not in COORD_SYSTEMS:
        raise InputError({"coord_system": [Message("Must be one of: {choices}.", choices=", ".join(COORD_SYSTEMS))]})
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError):
        raise InputError({"lat": [Message("lat and lng must both be decimal degrees.")]}) from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise InputError({"lat": [Message("lat must be within ±90 and lng within ±180.")]})
    return to_wgs84(lat, lng, system)


def place_point(session: Session, lat: float, lng: float) -> str:
    """The code of the grid covering the WGS-84 point; OutsideGrids, naming the point, outside every grid."""
    code = grid_index(session).grid_at(lat, lng)
    if code is None:
        raise OutsideGrids({"lat": [Message("The point {lat}, {lng} (WGS-84) is outside every grid of the city.",
                                          lat=f"{lat:.6f}", lng=f"{lng:.6f}")]},
                         f"The point {lat:.6f}, {lng:.6f} (WGS-84) is outside every grid of the city.")
    return code
