"""A process mistake on a running case answers a clear error and leaves an incident, never a 500;
an administrator migrates the case onto the fixed version and retries it from the command line."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli.main import main
from engine.process import deploy as process_service

from tests.engine.conftest import Driver
from tests.web.pages import sign_in, text


@pytest.fixture
def stuck(demo_db, settings, monkeypatch):
    """A case at 签收 on version 2, whose gateway after 签收 reads the misspelt `sign_decison`."""
    driver = Driver(demo_db, settings)
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    broken = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace(
        "sign_decision == 'return'", "sign_decison == 'return'")})
    with monkeypatch.context() as patched:  # deployed as it was before validate knew variables
        patched.setattr(process_service, "validate", lambda *args, **kwargs: [])
        process_service.deploy(driver.session, driver.rt, broken, "grid_case")
    driver.session.commit()
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    task_id = driver.task(case, "sign_for").id
    driver.close()
    return case.code, task_id


@pytest.fixture
def gridflow(database_url, monkeypatch):
    monkeypatch.setenv("GRIDFLOW_DATABASE_URL", database_url)
    return lambda *args: CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_completion_answers_a_conflict_naming_the_element_and_the_case_shows_the_incident(client, token, stuck):
    code, task_id = stuck
    handler = token("handler_hw")
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"sign_decision": "sign"}, headers=handler)
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["title"] == "step_failed" and problem["element"] == "gw_sign"
    assert "sign_decison" in problem["detail"]
    case = client.get(f"/api/v1/cases/{code}", headers=handler).get_json()
    assert case["stage"] == "sign" and "gw_sign" in case["incident"]
    assert [t["id"] for t in case["open_tasks"]] == [task_id]  # the handler can complete it after the fix
    assert [e["kind"] for e in case["timeline"]][-1] == "incident"


def test_the_board_and_the_case_page_show_a_stuck_case(app, client, token, stuck):
    code, task_id = stuck
    client.post(f"/api/v1/tasks/{task_id}/complete", json={"sign_decision": "sign"}, headers=token("handler_hw"))
    supervisor = app.test_client()
    sign_in(supervisor, "super_district")
    board = text(supervisor.get("/board"))
    assert 'id="incidents"' in board and code in board and "sign_decison" in board
    assert "sign_decison" in text(supervisor.get(f"/cases/{code}"))


def test_cli_migrates_the_stuck_case_to_the_fix_and_retry_completes_it(client, token, stuck, gridflow):
    code, task_id = stuck
    client.post(f"/api/v1/tasks/{task_id}/complete", json={"sign_decision": "sign"}, headers=token("handler_hw"))
    still = gridflow("cases", "retry", code)
    assert still.exit_code == 1 and "still failing" in still.output and "sign_decison" in still.output
    refused = gridflow("cases", "migrate", code, "--to-version", "7")
    assert refused.exit_code == 1 and "no version 7" in refused.output
    assert "deployed new version grid_case v3" in gridflow("processes", "deploy").output
    moved = gridflow("cases", "migrate", code, "--to-version", "3", "--by", "designer_li")
    assert moved.exit_code == 0, moved.output
    assert "now on version 3" in moved.output and f"gridflow cases retry {code}" in moved.output
    retried = gridflow("cases", "retry", code)
    assert retried.exit_code == 0, retried.output
    assert "stage handle" in retried.output
    case = client.get(f"/api/v1/cases/{code}", headers=token("handler_hw")).get_json()
    assert case["incident"] is None and case["stage"] == "handle"


def test_the_task_page_answers_the_failure_inline(app, stuck):
    code, task_id = stuck
    handler = app.test_client()
    csrf = sign_in(handler, "handler_hw")
    page = handler.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "sign_decision": "sign"})
    assert page.status_code == 409 and "gw_sign" in text(page) and "sign_decison" in text(page)
