"""`gridflow bench city`: import a generated city ten times Dongcheng's size, import it again
unchanged, and place points in its grids; print the times (last line: one JSON object).

The generated city lays its communities out as a lattice of rectangles, each cut into three
grids that share edges, under 170 streets of one district; its departments and categories are
the demo's (the deployed decisions name them). Users hold one or two memberships each.
"""
from __future__ import annotations

import csv
import json
import random
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import inspect
from sqlalchemy.orm import sessionmaker

from models import create_schema, make_engine, make_session_factory

from demo.loader import DEMO_CITY
from engine.access.initial import InitialCodes
from engine.city import read_city
from engine.city.places import grid_index, place_point
from engine.city.sheets import SHEETS
from engine.city.sync import sync_city

DISTRICT = "110199"
WEST, SOUTH = 116.0, 39.6          # the lattice's south-west corner (WGS-84)
CELL_LNG, CELL_LAT = 0.012, 0.009  # one community, about 1 km × 1 km
GRIDS_PER_COMMUNITY = 3


def generate_city(folder: Path, *, streets: int = 170, communities: int = 2000, users: int = 20000) -> dict:
    """Write the city's sheets and GeoJSON into FOLDER; return how many of each it holds."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("departments", "categories"):
        shutil.copy(DEMO_CITY / f"{name}.csv", folder / f"{name}.csv")
    columns = round(communities ** 0.5)
    units = [("110000", "city", "北京市", "Beijing", "", "core"),
             (DISTRICT, "district", "测试区", "Test district", "110000", "core")]
    units += [(f"{DISTRICT}{s:03d}", "street", f"第{s}街道", f"Street {s}", DISTRICT, "core")
              for s in range(1, streets + 1)]
    community_features, grid_features, grids = [], [], []
    for n in range(communities):
        street = f"{DISTRICT}{n % streets + 1:03d}"
        community = f"{street}{n // streets + 1:03d}"
        units.append((community, "community", f"第{n + 1}社区", f"Community {n + 1}", street,
                      "fringe" if n % 7 == 0 else ""))
        west, south = WEST + (n % columns) * CELL_LNG, SOUTH + (n // columns) * CELL_LAT
        community_features.append(_feature(community, west, south, west + CELL_LNG, south + CELL_LAT))
        width = CELL_LNG / GRIDS_PER_COMMUNITY
        for g in range(GRIDS_PER_COMMUNITY):
            code = f"{community}{g + 1:03d}"
            units.append((code, "grid", f"第{n + 1}社区第{g + 1}网格", "", community, ""))
            grid_features.append(_feature(code, west + g * width, south, west + (g + 1) * width, south + CELL_LAT))
            grids.append(code)
    _write_csv(folder, "org_units", units)
    for name, features in (("communities", community_features), ("grids", grid_features)):
        (folder / f"{name}.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                                                encoding="utf-8")
    departments = [row["code"] for row in csv.DictReader((folder / "departments.csv").open(encoding="utf-8-sig"))]
    people, memberships = [], []
    street_roles = ("acceptance_clerk", "shift_leader", "dispatcher", "supervisor")
    for i in range(users):
        username = f"u{i:05d}"
        people.append((username, f"用户{i}", "zh" if i % 5 else "en"))
        if i < 2 * len(grids):  # two grid workers per grid; one per community also a clerk of its street
            grid = grids[i % len(grids)]
            memberships.append((username, "grid_worker", grid, ""))
            if i < len(grids) and i % GRIDS_PER_COMMUNITY == 0:
                memberships.append((username, "acceptance_clerk", grid[:9], ""))
        elif i < 2 * len(grids) + 6 * streets:
            k = i - 2 * len(grids)
            memberships.append((username, street_roles[k % len(street_roles)], f"{DISTRICT}{k // 6 + 1:03d}", ""))
        else:
            memberships.append((username, "department_handler", "", departments[i % len(departments)]))
    _write_csv(folder, "users", people)
    _write_csv(folder, "memberships", memberships)
    return {"streets": streets, "communities": communities, "grids": len(grids), "users": users, "columns": columns}


def _feature(code: str, west: float, south: float, east: float, north: float) -> dict:
    ring = [[round(x, 7), round(y, 7)] for x, y in
            ((west, south), (east, south), (east, north), (west, north), (west, south))]
    return {"type": "Feature", "properties": {"code": code}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _write_csv(folder: Path, sheet: str, rows: list[tuple]) -> None:
    with (folder / f"{sheet}.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(SHEETS[sheet])
        writer.writerows(rows)


def _import(sessions: sessionmaker, folder: Path, settings: dict) -> tuple[float, int, int]:
    """Read, check and write the city in one transaction, as `gridflow city import` does: (s, changes, initial codes)."""
    started = time.perf_counter()
    city = read_city(folder, settings["GRID_CODE_LENGTH"], Path(settings["PROCESSES_DIR"]))
    with sessions() as session:
        codes = InitialCodes.from_settings(settings, datetime.now(timezone.utc))
        result = sync_city(session, city, write=True, codes=codes)
        session.commit()
    return time.perf_counter() - started, len(result.changes), len(result.passwords)


def expected_grid(lat: float, lng: float, *, streets: int, columns: int) -> str:
    """The grid of the generated lattice that holds a point inside it (not on an edge)."""
    column, row = int((lng - WEST) / CELL_LNG), int((lat - SOUTH) / CELL_LAT)
    third = int((lng - WEST - column * CELL_LNG) / (CELL_LNG / GRIDS_PER_COMMUNITY))
    n = row * columns + column
    return f"{DISTRICT}{n % streets + 1:03d}{n // streets + 1:03d}{third + 1:03d}"


def _placement(sessions: sessionmaker, size: dict, points: int, rng: random.Random) -> dict:
    """Place POINTS random points: in the loaded index alone, and through place_point (one stamp query)."""
    with sessions() as session:
        started = time.perf_counter()
        index = grid_index(session)
        load = time.perf_counter() - started
        columns = size["columns"]  # points inside the lattice's full rows
        rows = size["communities"] // columns
        sample = [(SOUTH + rng.random() * CELL_LAT * rows, WEST + rng.random() * CELL_LNG * columns)
                  for _ in range(points)]
        started = time.perf_counter()
        found = [index.grid_at(lat, lng) for lat, lng in sample]
        per_point = (time.perf_counter() - started) / points
        wrong = sum(code != expected_grid(lat, lng, streets=size["streets"], columns=columns)
                    for (lat, lng), code in zip(sample, found))
        calls = min(points, 2000)
        started = time.perf_counter()
        for lat, lng in sample[:calls]:
            place_point(session, lat, lng)
        with_stamp = (time.perf_counter() - started) / calls
    return {"grids": len(index), "index_load_s": round(load, 2), "place_ms": round(per_point * 1000, 4),
            "place_with_stamp_query_ms": round(with_stamp * 1000, 4), "misplaced": wrong}


def run_city(settings: dict, *, database_url: str | None = None, points: int = 20000, scale: float = 1.0,
             echo: Callable[[str], None] = print) -> dict:
    """Generate the city (SCALE times the full size), import it into an empty database twice, place
    POINTS points; return the figures."""
    rng = random.Random(13)
    with tempfile.TemporaryDirectory(prefix="gridflow-city-") as tmp:
        folder = Path(tmp) / "city"
        started = time.perf_counter()
        size = generate_city(folder, streets=max(1, round(170 * scale)), communities=max(1, round(2000 * scale)),
                             users=max(10, round(20000 * scale)))
        echo(f"generated {size['grids']} grids, {size['users']} users in {time.perf_counter() - started:.1f} s")
        url = database_url or f"sqlite:///{tmp}/city.db"
        engine = make_engine(url)
        try:
            if inspect(engine).get_table_names():
                raise RuntimeError(f"{engine.url.render_as_string()} is not empty; give an empty database")
            create_schema(engine)
            sessions = make_session_factory(engine)
            first, changes, passwords = _import(sessions, folder, settings)
            echo(f"import: {changes} changes, {passwords} initial codes in {first:.1f} s")
            again, unchanged, _ = _import(sessions, folder, settings)
            echo(f"re-import with no changes: {unchanged} changes in {again:.1f} s")
            placed = _placement(sessions, size, points, rng)
            echo(f"placement at {placed['grids']} grids: {placed['place_ms']} ms a point "
                 f"({placed['place_with_stamp_query_ms']} ms with the stamp query), {placed['misplaced']} misplaced")
        finally:
            engine.dispose()
    size.pop("columns")
    return {"database": engine.dialect.name, **size, "import_s": round(first, 2), "reimport_s": round(again, 2),
            "reimport_changes": unchanged, **placed,
            "targets": {"import_s": 60, "reimport_s": 20, "place_ms": 0.2}}
