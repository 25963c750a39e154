"""/api/v1 tasks: inbox filters and counts, one task with its form, claim/unclaim/assign/complete
with ETags and If-Match, and who may do what."""
from __future__ import annotations

from datetime import datetime

from tests.timekeeping import SH
from tests.web.test_api import field_errors, report


def first_task(client, headers):
    items = client.get("/api/v1/tasks", headers=headers).get_json()["items"]
    return items[0]


def test_inbox_filters_page_and_counts(client, token):
    clerk = token("clerk_dhm")
    codes = [report(client, clerk) for _ in range(3)]
    page = client.get("/api/v1/tasks?limit=2", headers=clerk).get_json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (3, 2, 0, 2)
    rest = client.get("/api/v1/tasks?limit=2&offset=2", headers=clerk).get_json()
    assert {i["case_code"] for i in page["items"] + rest["items"]} == set(codes)
    assert client.get("/api/v1/tasks?stage=dispatch", headers=clerk).get_json()["total"] == 0
    assert client.get("/api/v1/tasks?category=E01&source=hotline&org=110101001", headers=clerk).get_json()["total"] == 3
    assert client.get("/api/v1/tasks?assigned=me", headers=clerk).get_json()["total"] == 0
    counts = client.get("/api/v1/tasks/counts", headers=clerk).get_json()
    assert counts["all"] == 3 and counts["unassigned"] == 3 and counts["stages"] == {"accept": 3}
    bad = client.get("/api/v1/tasks?flag=late&assigned=you&limit=0&colour=red", headers=clerk)
    assert bad.status_code == 422 and field_errors(bad) == {"flag", "assigned", "limit", "colour"}
    unknown_org = client.get("/api/v1/tasks?org=110101999", headers=clerk)
    assert unknown_org.status_code == 422 and field_errors(unknown_org) == {"org"}


def test_one_task_has_its_form_prefilled_values_and_an_etag(client, token):
    clerk = token("clerk_dhm")
    report(client, clerk)
    item = first_task(client, clerk)
    response = client.get(f"/api/v1/tasks/{item['id']}", headers=clerk)
    task = response.get_json()
    assert response.headers["ETag"] == f'"{task["case_version"]}.{task["version"]}"' == f'"{task["etag"]}"'
    assert task["status"] == "open" and "decision" in {f["id"] for f in task["form"]}
    assert set(task["values"]) == {f["id"] for f in task["form"]}
    assert client.get(f"/api/v1/tasks/{item['id']}", headers=token("clerk_js")).status_code == 404
    assert client.get("/api/v1/tasks/123456789", headers=clerk).status_code == 404


def test_a_due_time_in_a_year_without_holiday_data_is_marked_estimated(client, token, clock):
    clerk = token("clerk_dhm")
    report(client, clerk)
    assert first_task(client, clerk)["due_estimated"] is False
    clock.move_to(datetime(2026, 12, 31, 17, 0, tzinfo=SH))  # acceptance (1 h) is due in 2027
    code = report(client, clerk)
    item = next(i for i in client.get("/api/v1/tasks", headers=clerk).get_json()["items"] if i["case_code"] == code)
    # Monday 4 January 09:00: 元旦 is skipped, but the State Council has not published 2027.
    assert item["due_estimated"] is True and item["due_at"] == "2027-01-04T01:00:00+00:00"
    assert client.get(f"/api/v1/tasks/{item['id']}", headers=clerk).get_json()["due_estimated"] is True
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Task"]
    assert "due_estimated" in schema["required"] and schema["properties"]["due_estimated"]["type"] == "boolean"


def test_claim_unclaim_and_assign_bump_the_etag_and_check_if_match(client, token):
    clerk, leader = token("clerk_dhm"), token("leader_dhm")
    report(client, clerk)
    task = first_task(client, clerk)
    url = f"/api/v1/tasks/{task['id']}"
    claimed = client.post(f"{url}/claim", headers={**clerk, "If-Match": f'"{task["etag"]}"'})
    assert claimed.status_code == 200
    body = claimed.get_json()
    assert body["assignee"] == "clerk_dhm" and body["version"] == task["version"] + 1
    assert claimed.headers["ETag"] == f'"{body["etag"]}"' != f'"{task["etag"]}"'
    # The old ETag is stale now: 412, and nothing changes.
    stale = client.post(f"{url}/unclaim", headers={**clerk, "If-Match": f'"{task["etag"]}"'})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    assert client.get(url, headers=clerk).get_json()["assignee"] == "clerk_dhm"
    # Someone else holds it: another clerk's claim is a conflict, their release forbidden.
    district = token("clerk_district")
    assert client.post(f"{url}/claim", headers=district).status_code == 409
    assert client.post(f"{url}/unclaim", headers=district).status_code == 403
    # The shift leader sees who may take it and hands it over.
    people = client.get(f"{url}/candidates", headers=leader).get_json()["items"]
    assert {p["username"] for p in people} == {"clerk_dhm", "clerk_district"}
    nobody = client.post(f"{url}/assign", json={"assignee": "grid_dhm_01"}, headers=leader)
    assert nobody.status_code == 422 and field_errors(nobody) == {"assignee"}
    assert client.post(f"{url}/assign", json={"assignee": "clerk_district"}, headers=clerk).status_code == 403
    assigned = client.post(f"{url}/assign", json={"assignee": "clerk_district"},
                           headers={**leader, "If-Match": claimed.headers["ETag"]})
    assert assigned.status_code == 200 and assigned.get_json()["assignee"] == "clerk_district"
    assert client.post(f"{url}/assign", json={"who": "x"}, headers=leader).status_code == 422
    released = client.post(f"{url}/unclaim", headers=district)
    assert released.status_code == 200 and released.get_json()["assignee"] is None
    kinds = [e["kind"] for e in client.get(f"/api/v1/cases/{task['case_code']}/timeline",
                                           headers=clerk).get_json()["items"]]
    assert kinds == ["reported", "claimed", "assigned", "unclaimed"]


def test_complete_takes_the_task_etag_or_the_case_etag(client, token):
    clerk = token("clerk_dhm")
    code = report(client, clerk)
    task = first_task(client, clerk)
    url = f"/api/v1/tasks/{task['id']}/complete"
    client.post(f"/api/v1/tasks/{task['id']}/claim", headers=clerk)  # task version 2 now
    stale = client.post(url, json={"decision": "file"}, headers={**clerk, "If-Match": f'"{task["etag"]}"'})
    assert stale.status_code == 412
    assert client.get(f"/api/v1/cases/{code}", headers=clerk).get_json()["stage"] == "accept"
    case_etag = client.get(f"/api/v1/cases/{code}", headers=clerk).headers["ETag"]
    done = client.post(url, json={"decision": "file"}, headers={**clerk, "If-Match": case_etag})
    assert done.status_code == 200
    case = done.get_json()
    assert case["stage"] == "dispatch" and done.headers["ETag"] == f'"{case["version"]}"' != case_etag
    # Finished: without If-Match a second completion is a conflict; with the old ETag, a failed precondition.
    assert client.post(url, json={"decision": "file"}, headers=clerk).status_code == 409
    assert client.post(url, json={"decision": "file"}, headers={**clerk, "If-Match": case_etag}).status_code == 412
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=clerk).status_code == 409


def test_if_match_star_and_weak_etags(client, token):
    clerk = token("clerk_dhm")
    report(client, clerk)
    task = first_task(client, clerk)
    url = f"/api/v1/tasks/{task['id']}/claim"
    assert client.post(url, headers={**clerk, "If-Match": "*"}).status_code == 200
    weak = client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers={**clerk, "If-Match": 'W/"1.2"'})
    assert weak.status_code == 200
    for value in ('"1.x"', "", "  "):
        bad = client.post(url, headers={**clerk, "If-Match": value})
        assert bad.status_code == 422 and field_errors(bad) == {"If-Match"}, value


def test_task_requests_with_bad_ids_or_bodies_are_problems(client, token):
    clerk = token("clerk_dhm")
    for path in ("/api/v1/tasks/0", "/api/v1/tasks/-1", "/api/v1/tasks/abc", f"/api/v1/tasks/{2 ** 64}"):
        response = client.get(path, headers=clerk)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    report(client, clerk)
    task = first_task(client, clerk)
    not_json = client.post(f"/api/v1/tasks/{task['id']}/complete", data="decision=file", headers=clerk)
    assert not_json.status_code == 400 and field_errors(not_json) == {"_body"}
    wrong_type = client.post(f"/api/v1/tasks/{task['id']}/assign", json={"assignee": 7}, headers=token("leader_dhm"))
    assert wrong_type.status_code == 422 and field_errors(wrong_type) == {"assignee"}
    allowed = client.put(f"/api/v1/tasks/{task['id']}/claim", headers=clerk)
    assert allowed.status_code == 405 and "POST" in allowed.headers["Allow"]


def test_completing_a_task_someone_else_holds_is_a_409_conflict(client, token):
    clerk, district = token("clerk_dhm"), token("clerk_district")
    report(client, clerk)
    task = first_task(client, clerk)
    url = f"/api/v1/tasks/{task['id']}"
    assert client.post(f"{url}/claim", headers=clerk).status_code == 200
    response = client.post(f"{url}/complete", json={"decision": "accept"}, headers=district)
    assert response.status_code == 409 and "held by" in response.get_json()["detail"]
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["additionalProperties"] is False
    assert "409" in spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["responses"]
