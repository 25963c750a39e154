"""`gridflow processes migrate` and `undo-migration`: a line per case, the last line JSON."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cli.main import main
from engine.process import deploy as process_service

from tests.engine.conftest import Driver, renamed


@pytest.fixture
def gridflow(database_url, monkeypatch):
    monkeypatch.setenv("GRIDFLOW_DATABASE_URL", database_url)
    return lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def cases(demo_db, settings, clock):
    """Two open cases on version 1 (one at 受理, one at 签收) and version 2, which renames 签收's id."""
    driver = Driver(demo_db, settings)
    first, second = driver.report(), driver.report()
    driver.do(second, "accept", "clerk_dhm", decision="file")
    driver.do(second, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    process_service.deploy(driver.session, driver.rt, renamed(files, "sign_for", "sign_receipt"), "grid_case")
    driver.session.commit()
    driver.close()
    return first.code, second.code


def last_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_dry_run_lists_each_case_and_counts_them(gridflow, cases):
    first, second = cases
    result = gridflow("processes", "migrate", "--from", "1", "--to", "2", "--dry-run")
    assert f"{first}: can move" in result.output
    assert f"{second}: stays: it waits in sign_for, which version 2 does not have" in result.output
    assert last_json(result) == {"dry_run": True, "can_migrate": 1, "refused": 1}


def test_a_real_run_with_a_mapping_moves_both_and_undo_puts_them_back(gridflow, cases):
    first, second = cases
    figures = last_json(gridflow("processes", "migrate", "--from", "1", "--to", "2", "--map", "sign_for=sign_receipt",
                                 "--by", "designer_li"))
    assert figures["migrated"] == 2 and figures["failed"] == 0
    again = last_json(gridflow("processes", "migrate", "--from", "1", "--to", "2", "--cases", f"{first},{second}"))
    assert again["migrated"] == 0 and again["failed"] == 2   # they run on version 2 now
    assert last_json(gridflow("processes", "undo-migration", figures["run"])) == {"restored": 2, "refused": 0}
    dry = last_json(gridflow("processes", "migrate", "--from", "1", "--to", "2", "--dry-run", "--cases", first))
    assert dry == {"dry_run": True, "can_migrate": 1, "refused": 0}   # back on version 1


def test_bad_input_is_refused_naming_the_option(gridflow, cases):
    bad_map = gridflow("processes", "migrate", "--from", "1", "--to", "2", "--map", "sign_for")
    assert bad_map.exit_code == 1 and "--map 'sign_for': write OLD=NEW" in bad_map.output
    unknown = gridflow("processes", "migrate", "--from", "1", "--to", "2", "--map", "sign_for=nowhere")
    assert unknown.exit_code == 1 and "--map: version 2 has no task nowhere" in unknown.output
    missing = gridflow("processes", "migrate", "--from", "1", "--to", "5", "--dry-run")
    assert missing.exit_code == 1 and "grid_case has no version 5" in missing.output
    assert gridflow("processes", "undo-migration", "nope").exit_code == 1
