"""Check the GeoJSON boundaries of grids (and optionally communities and streets) and attach them."""
from __future__ import annotations

from pathlib import Path

from shapely import STRtree
from shapely.geometry import shape
from shapely.validation import explain_validity

from engine.city.sheets import BOUNDARY_FILES, Problem

# A grid may stick out of its community, or overlap a neighbour, by this share of its area:
# boundaries digitised by hand never meet exactly along a shared edge.
_POLYGONS = ("Polygon", "MultiPolygon")


def check_boundaries(folder: Path, city, unit_rows, tolerance: float, problems: list[Problem]) -> None:
    """Attach each valid boundary to its org unit; report bad, stray, missing, protruding or overlapping ones."""
    from engine.city.read import boundary_json

    shapes: dict[str, object] = {}
    for level in ("street", "community", "grid"):
        features = boundary_json(folder, level, problems)
        if features is None:
            continue
        name = BOUNDARY_FILES[level]
        seen: dict[str, int] = {}
        for number, feature in enumerate(features, start=1):
            where = f"feature {number}"
            code = str(((feature or {}).get("properties") or {}).get("code", ""))
            unit = city.units.get(code)
            if not code:
                problems.append(Problem(name, where, "properties.code", "must name an org unit"))
                continue
            if code in seen:
                problems.append(Problem(name, where, "properties.code", f"{code} already has feature {seen[code]}"))
                continue
            seen[code] = number
            if unit is None or unit["level"] != level:
                if code not in unit_rows:
                    problems.append(Problem(name, where, "properties.code", f"{level} {code} is not in org_units"))
                elif unit is not None:
                    problems.append(Problem(name, where, "properties.code", f"{code} is a {unit['level']}, not a {level}"))
                continue
            geometry = feature.get("geometry") or {}
            if geometry.get("type") not in _POLYGONS:
                problems.append(Problem(name, where, "geometry", "must be a Polygon or MultiPolygon"))
                continue
            try:
                polygon = shape(geometry)
            except (ValueError, TypeError, AttributeError, IndexError) as exc:
                problems.append(Problem(name, where, "geometry", f"cannot be read: {exc}"))
                continue
            if polygon.is_empty or not polygon.is_valid:
                problems.append(Problem(name, where, "geometry", f"is not a valid polygon ({explain_validity(polygon)})"))
                continue
            if not all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in _corners(polygon)):
                problems.append(Problem(name, where, "geometry", "coordinates must be WGS-84 longitude, latitude"))
                continue
            parent = unit["parent"]
            outer = shapes.get(parent)
            if outer is not None and polygon.difference(outer).area > tolerance * polygon.area:
                problems.append(Problem(name, where, "geometry", f"lies outside its {city.units[parent]['level']} {parent}"))
            shapes[code] = polygon
            _attach(unit, geometry, polygon)
    for code, unit in city.units.items():
        if unit["level"] == "grid" and code not in shapes and (folder / BOUNDARY_FILES["grid"]).exists():
            problems.append(Problem(BOUNDARY_FILES["grid"], None, "properties.code", f"grid {code} has no boundary"))
    _check_overlaps([c for c, u in city.units.items() if u["level"] == "grid" and c in shapes], shapes,
                    tolerance, problems)


def _corners(polygon):
    minx, miny, maxx, maxy = polygon.bounds
    return ((minx, miny), (maxx, maxy))


def _attach(unit: dict, geometry: dict, polygon) -> None:
    unit["geometry"] = {"type": geometry["type"], "coordinates": geometry["coordinates"]}
    unit["bbox"] = list(polygon.bounds)
    point = polygon.centroid if polygon.contains(polygon.centroid) else polygon.representative_point()
    unit["lat"], unit["lng"] = round(point.y, 6), round(point.x, 6)


def _check_overlaps(codes: list[str], shapes: dict, tolerance: float, problems: list[Problem]) -> None:
    polygons = [shapes[c] for c in codes]
    tree = STRtree(polygons)
    for i, polygon in enumerate(polygons):
        for j in tree.query(polygon):
            if j <= i:
                continue
            overlap = polygon.intersection(polygons[j]).area
            if overlap > tolerance * min(polygon.area, polygons[j].area):
                problems.append(Problem(BOUNDARY_FILES["grid"], None, "geometry",
                                        f"grids {codes[i]} and {codes[j]} overlap"))
