"""The minimal JSON API: intake, inbox, completing tasks and reading a case, with bad input."""
from __future__ import annotations

import json

import pytest

GRID = "110101001001001"
REPORT = {"category_code": "E0102", "grid_code": GRID, "address": "南池子大街12号",
          "description": "路边堆放生活垃圾", "source": "hotline", "reporter_phone": "13900001111"}


def report(client, headers, **fields):
    response = client.post("/api/v1/cases", json={**REPORT, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def inbox(client, headers):
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 200
    return response.get_json()["items"]


def field_errors(response):
    assert response.mimetype == "application/problem+json"
    return {e["field"] for e in response.get_json()["errors"]}


def test_requests_without_a_valid_token_get_401(client):
    assert client.get("/api/v1/tasks").status_code == 401
    response = client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and "Bearer" in response.headers["WWW-Authenticate"]


def test_intake_returns_the_public_code_and_the_case_reads_back(client, token):
    clerk = token("clerk_dhm")
    response = client.post("/api/v1/cases", json=REPORT, headers=clerk)
    assert response.status_code == 201
    code = response.get_json()["code"]
    assert response.headers["Location"] == f"/api/v1/cases/{code}"
    case = client.get(f"/api/v1/cases/{code}", headers=clerk).get_json()
    assert (case["stage"], case["status"], case["category"]["name"]) == ("accept", "open", "暴露垃圾")
    assert case["due_times"]["accept"] and case["open_tasks"][0]["name"] == "受理立案"
    assert case["timeline"][0]["kind"] == "reported" and case["timeline"][0]["actor"] == "陈静"


@pytest.mark.parametrize("body, fields", [
    ({**REPORT, "category_code": "E9999"}, {"category_code"}),
    ({**REPORT, "grid_code": "110101001001999"}, {"grid_code"}),
    ({**REPORT, "lat": "north", "urgency": "asap", "extra": 1}, {"lat", "urgency", "extra"}),
    ({k: v for k, v in REPORT.items() if k != "description"}, {"description"}),
    ({**REPORT, "address": "", "lat": None}, {"address"}),
])
def test_bad_intake_is_422_naming_each_field(client, token, body, fields):
    response = client.post("/api/v1/cases", json=body, headers=token("clerk_dhm"))
    assert response.status_code == 422
    assert field_errors(response) == fields


def test_malformed_json_is_400(client, token):
    headers = {**token("clerk_dhm"), "Content-Type": "application/json"}
    response = client.post("/api/v1/cases", data="{not json", headers=headers)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    response = client.post("/api/v1/cases", json=[1, 2], headers=token("clerk_dhm"))
    assert response.status_code == 400


def test_reporting_outside_ones_scope_is_403(client, token):
    response = client.post("/api/v1/cases", json=REPORT, headers=token("clerk_js"))
    assert response.status_code == 403


def test_inbox_shows_tasks_by_role_and_scope_with_their_form(client, token):
    code = report(client, token("clerk_dhm"))
    items = inbox(client, token("clerk_dhm"))
    assert [i["case_code"] for i in items] == [code]
    form = {f["id"]: f for f in items[0]["form"]}
    assert [o["id"] for o in form["decision"]["options"]] == ["file", "cancel", "duplicate", "supplement"]
    assert "required" in form["decision"]["constraints"]
    assert inbox(client, token("clerk_js")) == []
    assert inbox(client, token("dispatch_dhm")) == []


def test_walk_a_case_through_the_api(client, token):
    clerk, dispatcher, handler = token("clerk_dhm"), token("dispatch_dhm"), token("handler_hw")
    code = report(client, clerk)
    steps = [
        (clerk, {"decision": "file"}),
        (dispatcher, {"level": "department", "department_code": "HW"}),
        (handler, {"sign_decision": "sign"}),
        (handler, {"action": "done"}),
        (handler, {"result": "已清运"}),
        (clerk, {"satisfaction": "satisfied"}),
        (token("grid_dhm_01"), {"verify_result": "pass"}),
        (token("leader_dhm"), {}),
    ]
    for headers, data in steps:
        task = next(i for i in inbox(client, headers) if i["case_code"] == code)
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers)
        assert response.status_code == 200, response.get_json()
    case = client.get(f"/api/v1/cases/{code}", headers=clerk).get_json()
    assert case["status"] == "closed" and len(case["timeline"]) == 10  # 8 tasks + reported + closed


def test_completing_with_bad_data_is_422_with_every_field(client, token):
    clerk = token("clerk_dhm")
    report(client, clerk)
    task = inbox(client, clerk)[0]
    response = client.post(f"/api/v1/tasks/{task['id']}/complete",
                           json={"decision": "maybe", "accept_note": 5, "x": 1}, headers=clerk)
    assert response.status_code == 422
    assert field_errors(response) == {"decision", "accept_note", "x"}
    assert inbox(client, clerk)[0]["id"] == task["id"]  # still open


def test_someone_elses_task_is_403_and_a_finished_one_409(client, token):
    clerk = token("clerk_dhm")
    report(client, clerk)
    task = inbox(client, clerk)[0]
    url = f"/api/v1/tasks/{task['id']}/complete"
    assert client.post(url, json={"decision": "file"}, headers=token("dispatch_dhm")).status_code == 403
    assert client.post(url, json={"decision": "file"}, headers=token("clerk_js")).status_code == 404
    assert client.post(url, json={"decision": "file"}, headers=clerk).status_code == 200
    again = client.post(url, json={"decision": "file"}, headers=clerk)
    assert again.status_code == 409 and "already completed" in again.get_json()["detail"]
    assert client.post("/api/v1/tasks/999999/complete", json={}, headers=clerk).status_code == 404


def test_stale_if_match_is_412_and_changes_nothing(client, token):
    clerk = token("clerk_dhm")
    code = report(client, clerk)
    task = inbox(client, clerk)[0]
    stale = str(task["case_version"] - 1)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "file"},
                           headers={**clerk, "If-Match": f'"{stale}"'})
    assert response.status_code == 412 and response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/cases/{code}", headers=clerk).get_json()["stage"] == "accept"
    bad = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "file"},
                      headers={**clerk, "If-Match": "yesterday"})
    assert bad.status_code == 422 and field_errors(bad) == {"If-Match"}


def test_cases_of_another_street_are_404(client, token):
    code = report(client, token("clerk_dhm"))
    assert client.get(f"/api/v1/cases/{code}", headers=token("clerk_js")).status_code == 404
    assert client.get(f"/api/v1/cases/{code}", headers=token("clerk_district")).status_code == 200
    assert client.get("/api/v1/cases/GF0", headers=token("clerk_dhm")).status_code == 404


def test_landing_page_and_health_check_show_the_deployed_process(client, token):
    report(client, token("clerk_dhm"))
    page = client.get("/")
    assert page.status_code == 200 and "grid_case v1" in page.get_data(as_text=True)
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and "cases" not in health  # nothing is counted
    assert "2027" in health["calendar_warning"]  # the package has no 2027 holidays yet


@pytest.mark.parametrize("field, value", [
    ("description", "垃圾\ud800"), ("address", "路\x00口"), ("reporter_name", "\udfff"),
])
def test_text_that_cannot_be_stored_is_422_not_500(client, token, field, value):
    body = json.dumps({**REPORT, field: value})  # ASCII-escaped, as a client would send it
    response = client.post("/api/v1/cases", data=body,
                           headers={**token("clerk_dhm"), "Content-Type": "application/json"})
    assert response.status_code == 422 and field_errors(response) == {field}


def test_odd_requests_get_problems_not_500s(client, token):
    clerk = token("clerk_dhm")
    huge = client.get("/api/v1/tasks?offset=99999999999999999999", headers=clerk)
    assert huge.status_code == 422 and field_errors(huge) == {"offset"}
    assert client.post("/api/v1/tasks/99999999999999999999999/complete", json={},
                       headers=clerk).status_code == 404
    deep = "[" * 5000 + "]" * 5000
    response = client.post("/api/v1/cases", data=deep, headers={**clerk, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert client.get("/api/v1/cases/GF%00", headers=clerk).status_code == 422  # NUL: refused centrally
    missing = client.get("/api/v1/nowhere", headers=clerk)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    wrong = client.delete("/api/v1/cases", headers=clerk)
    assert wrong.status_code == 405 and wrong.mimetype == "application/problem+json"


def test_form_values_are_checked_strictly(client, token):
    clerk = token("clerk_dhm")
    report(client, clerk)
    task = inbox(client, clerk)[0]
    url = f"/api/v1/tasks/{task['id']}/complete"
    blank = client.post(url, data=json.dumps({"decision": "cancel", "cancel_reason": "invalid",
                                              "accept_note": "\ud800"}),
                        headers={**clerk, "Content-Type": "application/json"})
    assert blank.status_code == 422 and field_errors(blank) == {"accept_note"}
    spaces = client.post(url, json={"decision": "   "}, headers=clerk)
    assert spaces.status_code == 422 and field_errors(spaces) == {"decision"}


def test_notifications_api_lists_unread_and_marks_them_read(client, token, app, demo_db):
    from sqlalchemy import select

    from models import Notification, User
    headers = token("handler_hw")
    with demo_db() as session:
        user_id = session.scalar(select(User.id).where(User.username == "handler_hw"))
        session.add(Notification(user_id=user_id, case_id=None, kind="warning", message="案件即将到期",
                                 created_at=app.extensions["gridflow.runtime"].clock()))
        session.commit()
    items = client.get("/api/v1/notifications", headers=headers).get_json()["items"]
    assert [i["message"] for i in items] == ["案件即将到期"]
    bad = client.post("/api/v1/notifications/read", json={"ids": ["x"]}, headers=headers)
    assert bad.status_code == 422
    done = client.post("/api/v1/notifications/read", json={"ids": [items[0]["id"]]}, headers=headers)
    assert done.get_json() == {"marked_read": 1}
    assert client.get("/api/v1/notifications", headers=headers).get_json()["items"] == []


def test_a_report_repeated_with_its_idempotency_key_answers_the_first_case(client, token):
    headers = {**token("clerk_dhm"), "Idempotency-Key": "phone-7f3c2a9e-0001"}
    first = client.post("/api/v1/cases", json=REPORT, headers=headers)
    assert first.status_code == 201 and first.get_json()["tracking_url"]
    again = client.post("/api/v1/cases", json=REPORT, headers=headers)   # the answer was lost: retry
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["code"] == first.get_json()["code"]
    assert again.headers["Location"] == first.headers["Location"]
    listed = client.get("/api/v1/cases?q=路边堆放生活垃圾", headers=headers).get_json()
    assert [c["code"] for c in listed["items"]].count(first.get_json()["code"]) == 1
    # The same key for another report is refused, and nothing is made.
    other = client.post("/api/v1/cases", json={**REPORT, "address": "东华门大街1号"}, headers=headers)
    assert other.status_code == 409 and "different report" in other.get_json()["detail"]
    # Keys are each user's own: another clerk's identical key makes their own case.
    theirs = client.post("/api/v1/cases", json=REPORT, headers={**token("admin"), "Idempotency-Key": "phone-7f3c2a9e-0001"})
    assert theirs.status_code == 201 and theirs.get_json()["code"] != first.get_json()["code"]
    bad = client.post("/api/v1/cases", json=REPORT, headers={**headers, "Idempotency-Key": "short"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "Idempotency-Key"
    spec = client.get("/api/v1/openapi.json").get_json()
    params = spec["paths"]["/api/v1/cases"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params)
