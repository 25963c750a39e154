"""The draft page's scenario tests: the draft's own scenarios run on the server against the draft as
saved; a broken rule fails the scenario that depends on it, naming the step, pinned to the task."""
from __future__ import annotations

from tests.web.pages import sign_in, text
from tests.web.test_studio import _draft, _files


def _run(client, token, draft_id, **query):
    response = client.post(f"/studio/drafts/{draft_id}/scenarios", query_string=query, headers={"X-CSRFToken": token})
    assert response.status_code == 200, text(response)[:300]
    return response.get_json()


def test_the_draft_runs_its_scenarios_and_a_changed_routing_rule_fails_the_one_it_breaks(client):
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    page = text(client.get(f"/studio/drafts/{draft}"))
    assert "运行场景测试" in page and f'data-run-url="/studio/drafts/{draft}/scenarios"' in page
    first = _run(client, token, draft, k="routing/")
    assert first["ok"] and first["summary"]["failed"] == 0 and first["summary"]["passed"] == 6
    assert all(s["passed"] and s["failure"] is None for s in first["scenarios"])

    files = _files(client, draft)
    files["routing.dmn"] = files["routing.dmn"].replace('<text>"CG"</text>', '<text>"HW"</text>', 1)
    saved = client.post(f"/studio/drafts/{draft}/files", json={"files": files}, headers={"X-CSRFToken": token})
    assert saved.status_code == 200
    second = _run(client, token, draft, k="routing/")
    [failed] = [s for s in second["scenarios"] if not s["passed"]]
    assert not second["ok"] and second["summary"]["failed"] == 1
    assert failed["id"] == "routing/department_illegal_building" and failed["step"] == 2
    assert failed["text"] == ("routing/department_illegal_building: step 2 (dispatch as dispatch_dhm): "
                              "expected department CG, got HW")
    assert (failed["element"], failed["element_file"]) == ("dispatch", "grid_case.bpmn")


def test_a_broken_scenario_file_is_named_by_the_run_and_by_the_server_check(client):
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    files = _files(client, draft)
    files["scenarios/acceptance.toml"] = files["scenarios/acceptance.toml"].replace(
        'answer = { decision = "file", accept_note = "属实" }', 'answer = { decison = "file" }')
    client.post(f"/studio/drafts/{draft}/files", json={"files": files}, headers={"X-CSRFToken": token})
    run = _run(client, token, draft, k="acceptance/")
    [problem] = run["problems"]
    assert problem["file"] == "scenarios/acceptance.toml" and problem["element"] is None
    assert "scenario 'file': step 1: answer.decison: the form of task accept has no field 'decison'" in problem["text"]
    assert run["summary"]["scenarios"] == 0 and not run["ok"]   # the file's scenarios do not run unchecked
    check = client.post(f"/studio/drafts/{draft}/check", headers={"X-CSRFToken": token}).get_json()
    assert [p["file"] for p in check["problems"]] == ["scenarios/acceptance.toml"]


def test_the_scenario_tests_speak_english_and_are_for_designers_only(client):
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/studio"})
    page = text(client.get(f"/studio/drafts/{draft}"))
    assert "Run scenario tests" in page and "Sequence flows taken: {covered} of {total}." in page
    client.get("/logout")
    other = sign_in(client, "dispatch_dhm")
    response = client.post(f"/studio/drafts/{draft}/scenarios", headers={"X-CSRFToken": other})
    assert response.status_code == 403
