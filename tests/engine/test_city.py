"""A city as files: checked before anything is written, imported all or nothing, exported the same."""
from __future__ import annotations

import csv
import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import main
from demo.loader import DEMO_CITY, DEMO_PASSWORD, ROOT
from engine.city import CityError, export_city, import_city
from engine.access.accounts import sign_in
from engine.access.initial import NO_PASSWORD, InitialCodes
from engine.admin import passwords
from engine.assembly import make_runtime
from engine.errors import NotFound
from models import (Category, Department, OrgUnit, PasswordLink, User, create_schema, make_engine,
                    make_session_factory)
from tests.timekeeping import WEDNESDAY_10

PROCESSES = ROOT / "processes"


@pytest.fixture
def city_dir(tmp_path) -> Path:
    folder = tmp_path / "city"
    shutil.copytree(DEMO_CITY, folder)
    return folder


@pytest.fixture
def new_database(tmp_path):
    """Return a factory of sessions on another fresh database, one per call."""
    made = []

    def make():
        engine = make_engine(f"sqlite:///{tmp_path}/other{len(made)}.db")
        create_schema(engine)
        made.append(engine)
        return make_session_factory(engine)
    yield make
    for engine in made:
        engine.dispose()


def load(sessions, folder, **kwargs):
    with sessions() as session:
        result = import_city(session, folder, grid_code_length=15, processes_dir=PROCESSES,
                             codes=InitialCodes(WEDNESDAY_10, timedelta(days=30)), **kwargs)
        session.commit()
    return result


def edit(folder: Path, sheet: str, change) -> None:
    """Rewrite a sheet with CHANGE(rows) applied to its list of row dicts."""
    path = folder / f"{sheet}.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    rows = change(rows)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def problems_of(sessions, folder) -> list[str]:
    with pytest.raises(CityError) as caught:
        load(sessions, folder)
    return [str(p) for p in caught.value.problems]


def count(sessions, model) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_one_bad_row_refuses_the_whole_city_naming_file_row_column_and_rule(sessions, city_dir):
    edit(city_dir, "memberships", lambda rows: rows[:-1] + [{**rows[-1], "department": "XX"}])
    assert problems_of(sessions, city_dir) == [
        "memberships.csv row 112, column department: department XX is not in departments"]
    assert count(sessions, OrgUnit) == count(sessions, User) == count(sessions, Category) == 0


def test_every_problem_is_reported_at_once(sessions, city_dir):
    def break_units(rows):
        rows[2]["code"] = "110101"  # the first street, given the district's code
        return rows
    edit(city_dir, "org_units", break_units)
    edit(city_dir, "categories", lambda rows: rows + [{**rows[0], "code": "E0199", "minor_code": "99"}])
    grids = json.loads((city_dir / "grids.geojson").read_text(encoding="utf-8"))
    features = grids["features"]  # 14 and on: the grids of Jingshan, whose street is intact
    features[15]["geometry"] = features[14]["geometry"]  # grid 2 drawn over grid 1
    features[16]["geometry"]["coordinates"][0][1] = [0, 0]  # a self-crossing ring
    (city_dir / "grids.geojson").write_text(json.dumps(grids), encoding="utf-8")

    found = problems_of(sessions, city_dir)
    assert "org_units.csv row 4, column code: 110101 is already on row 3" in found
    assert any(p.startswith("org_units.csv row 9, column parent: org unit 110101001 is not in org_units")
               for p in found)  # a community of the broken street
    assert any("categories.csv row 76, column code: category E0199 is not named in decision routing" in p
               for p in found)
    assert "grids.geojson, column geometry: grids 110101002001001 and 110101002001002 overlap" in found
    assert any(p.startswith("grids.geojson feature 17, column geometry: is not a valid polygon") for p in found)
    assert count(sessions, OrgUnit) == 0


def test_a_decision_naming_a_category_the_city_lacks_is_refused(sessions, city_dir):
    edit(city_dir, "categories", lambda rows: [r for r in rows if r["code"] != "E0102"])
    found = problems_of(sessions, city_dir)
    assert any(p.startswith("routing.dmn rule") and "names category E0102, which categories does not list" in p
               for p in found)
    assert any(p.startswith("sla.dmn rule") for p in found)


def test_a_dry_run_writes_nothing_and_lists_what_would_change(sessions, city_dir):
    with sessions() as session:
        result = import_city(session, city_dir, grid_code_length=15, processes_dir=PROCESSES, dry_run=True)
        session.commit()
    assert "add org unit 110101001001001 南池子社区第1网格" in result.changes
    assert "add user grid_dhm_01 程晨" in result.changes and not result.passwords
    assert count(sessions, OrgUnit) == count(sessions, User) == 0


def test_import_again_updates_what_changed_and_deactivates_what_is_gone(sessions, city_dir):
    load(sessions, city_dir, shared_password=DEMO_PASSWORD)
    edit(city_dir, "departments", lambda rows: [{**r, "name": "区城管委"} if r["code"] == "CW" else r for r in rows])
    edit(city_dir, "users", lambda rows: [r for r in rows if r["username"] != "handler_cg2"])
    edit(city_dir, "memberships", lambda rows: [r for r in rows if r["username"] != "handler_cg2"])

    with sessions() as session:
        dry = import_city(session, city_dir, grid_code_length=15, processes_dir=PROCESSES, dry_run=True)
    assert dry.changes == ["update department CW: name: '区城市管理委员会' → '区城管委'", "deactivate user handler_cg2"]
    assert load(sessions, city_dir).changes == dry.changes
    with sessions() as session:
        assert session.scalar(select(Department.name).where(Department.code == "CW")) == "区城管委"
        gone = session.scalar(select(User).where(User.username == "handler_cg2"))
        assert gone is not None and not gone.active  # kept: cases and history name this user
    assert load(sessions, city_dir).changes == []


def test_new_users_get_a_code_that_only_chooses_a_password_once(sessions, city_dir, settings):
    result = load(sessions, city_dir)
    codes = result.passwords
    assert len(codes) == 77 and len(set(codes.values())) == 77
    assert all(re.fullmatch(r"([a-km-np-z2-9]{4}-){4}[a-km-np-z2-9]{4}", c) for c in codes.values())
    assert result.codes_expire == WEDNESDAY_10 + timedelta(days=30)
    later = {"now": WEDNESDAY_10 + timedelta(days=2)}
    rt = make_runtime(settings, clock=lambda: later["now"])
    with sessions() as session:
        user = session.scalar(select(User).where(User.username == "grid_dhm_01"))
        assert user.password_hash == NO_PASSWORD  # nothing a stolen table could crack
        assert session.scalar(select(PasswordLink.secret_hash).where(PasswordLink.user_id == user.id)) != codes["grid_dhm_01"]
        assert sign_in(session, "grid_dhm_01", codes["grid_dhm_01"]) is None  # not a password
        assert passwords.initial_code_holder(session, rt, "grid_dhm_01", codes["grid_dhm_02"]) is None
        typed = codes["grid_dhm_01"].upper().replace("-", " ")  # as read off a printout
        assert passwords.initial_code_holder(session, rt, "grid_dhm_01", typed).username == "grid_dhm_01"
        passwords.set_password_with_code(session, rt, "grid_dhm_01", typed, "my own secret", "my own secret")
        session.commit()
        assert sign_in(session, "grid_dhm_01", "my own secret").password_hash.startswith("scrypt$")
        assert passwords.initial_code_holder(session, rt, "grid_dhm_01", codes["grid_dhm_01"]) is None  # once
        later["now"] = WEDNESDAY_10 + timedelta(days=30, seconds=1)  # an unused code expires
        assert passwords.initial_code_holder(session, rt, "grid_dhm_02", codes["grid_dhm_02"]) is None
        with pytest.raises(NotFound):
            passwords.set_password_with_code(session, rt, "grid_dhm_02", codes["grid_dhm_02"], "x" * 12, "x" * 12)


def test_export_import_export_gives_identical_files(demo_db, new_database, tmp_path):
    with demo_db() as session:
        export_city(session, tmp_path / "first")
    other = new_database()
    load(other, tmp_path / "first")
    with other() as session:
        export_city(session, tmp_path / "second")
    for name in sorted(p.name for p in (tmp_path / "first").iterdir()):
        assert (tmp_path / "second" / name).read_bytes() == (tmp_path / "first" / name).read_bytes(), name
        assert (DEMO_CITY / name).read_bytes() == (tmp_path / "first" / name).read_bytes(), name


def test_an_xlsx_city_equals_the_same_city_in_csv(new_database, tmp_path):
    from openpyxl import Workbook

    folder = tmp_path / "xlsx"
    shutil.copytree(DEMO_CITY, folder, ignore=shutil.ignore_patterns("*.csv"))
    for sheet in DEMO_CITY.glob("*.csv"):
        book = Workbook()
        with sheet.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                # Excel keeps numbers as numbers: codes typed into cells come back as integers.
                book.active.append([int(v) if v.isdigit() and not v.startswith("0") else v for v in row])
        book.save(folder / f"{sheet.stem}.xlsx")
    other = new_database()
    load(other, folder)
    with other() as session:
        export_city(session, tmp_path / "out")
    for sheet in DEMO_CITY.iterdir():
        assert (tmp_path / "out" / sheet.name).read_bytes() == sheet.read_bytes(), sheet.name


def test_grid_boundaries_are_stored_with_their_bounding_box_and_centre(demo_db):
    with demo_db() as session:
        grid = session.scalar(select(OrgUnit).where(OrgUnit.code == "110101001001001"))
    assert grid.geometry["type"] == "Polygon"
    assert grid.bbox == [116.3981, 39.911, 116.4005, 39.9128]
    assert (grid.lat, grid.lng) == (39.9119, 116.3993)


def test_the_cli_dry_run_prints_the_diff_and_a_real_import_prints_passwords(database_url, monkeypatch, city_dir):
    monkeypatch.setenv("GRIDFLOW_DATABASE_URL", database_url)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--force"]).exit_code == 0  # PostgreSQL keeps earlier tests' tables
    dry = runner.invoke(main, ["city", "import", str(city_dir), "--dry-run"])
    assert dry.exit_code == 0 and "add department CG 区城管执法局" in dry.output
    assert "nothing was written" in dry.output
    real = runner.invoke(main, ["city", "import", str(city_dir)])
    assert real.exit_code == 0 and "initial codes (shown once)" in real.output
    assert re.search(r"grid_dhm_01\t([a-km-np-z2-9]{4}-){4}[a-km-np-z2-9]{4}", real.output)
    edit(city_dir, "org_units", lambda rows: rows + [{**rows[-1], "code": "1101010030030044"}])
    bad = runner.invoke(main, ["city", "import", str(city_dir)])
    assert bad.exit_code == 1 and "column code: grid code must be 15 digits" in bad.output
    assert "nothing was changed" in bad.output


def test_the_cli_import_is_in_the_admins_change_history(database_url, monkeypatch, city_dir):
    from sqlalchemy import select

    from models import AdminChange, make_engine, make_session_factory

    monkeypatch.setenv("GRIDFLOW_DATABASE_URL", database_url)
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--force"]).exit_code == 0
    assert runner.invoke(main, ["city", "import", str(city_dir), "--dry-run"]).exit_code == 0
    assert runner.invoke(main, ["city", "import", str(city_dir)]).exit_code == 0
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        [entry] = session.scalars(select(AdminChange)).all()
        assert entry.actor_id is None and entry.action == "import"
        assert "add department CG 区城管执法局" in entry.new["changes"]
    engine.dispose()
