"""`gridflow processes simulate DIR [--days N]`: a readable report whose last line is JSON; a broken
folder is refused naming the file and the rule, and nothing is written."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import main
from engine.process import deploy as process_service
from models import CaseEvent

from tests.engine.conftest import GARBAGE, ILLEGAL_BUILD, Driver


@pytest.fixture
def gridflow(database_url, monkeypatch):
    monkeypatch.setenv("GRIDFLOW_DATABASE_URL", database_url)
    return lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def folder(demo_db, settings, clock, tmp_path):
    """Two dispatched cases (私搭乱建 to 城管, 暴露垃圾 to 环卫) and a draft folder that sends 私搭乱建 to 环卫."""
    driver = Driver(demo_db, settings)
    for category, department in ((ILLEGAL_BUILD, "CG"), (GARBAGE, "HW")):
        case = driver.report(category_code=category)
        driver.do(case, "accept", "clerk_dhm", decision="file")
        driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code=department)
    driver.close()
    for name, text in process_service.read_files([settings["PROCESSES_DIR"]]).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)   # scenarios/ too
        (tmp_path / name).write_text(text.replace('"CG"', '"HW"', 1) if name == "routing.dmn" else text, encoding="utf-8")
    return tmp_path


def test_the_report_ends_with_the_figures_as_json(gridflow, folder, demo_db):
    with demo_db() as session:
        events = session.scalar(select(func.count()).select_from(CaseEvent))
    result = gridflow("processes", "simulate", str(folder), "--days", "7")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    figures = json.loads(lines[-1])
    assert (figures["cases_replayed"], figures["department_changes"], figures["not_dispatched"]) == (2, 1, 0)
    assert figures["days"] == 7 and figures["flow"]["same"] == 2
    assert any("CG → HW" in line and "changed" in line for line in lines)
    with demo_db() as session:
        assert session.scalar(select(func.count()).select_from(CaseEvent)) == events


def test_a_broken_folder_is_refused_naming_the_file_and_the_rule(gridflow, folder):
    bpmn = folder / "grid_case.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace(">resident_report<", ">resident_reprot<", 1), encoding="utf-8")
    result = CliRunner().invoke(main, ["processes", "simulate", str(folder)])
    assert result.exit_code == 1
    assert "resident_reprot" in result.stderr and "gw_callback" in result.stderr
    (folder / "routing.dmn").write_text("<definitions", encoding="utf-8")
    broken = CliRunner().invoke(main, ["processes", "simulate", str(folder)])
    assert broken.exit_code == 1 and "routing.dmn" in broken.stderr
