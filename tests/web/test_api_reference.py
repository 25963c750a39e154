"""/api/v1 reference data, API tokens, and the OpenAPI document with its docs page."""
from __future__ import annotations

from pathlib import Path

from tests.web.test_api import field_errors


def test_categories_org_units_and_departments(client, token):
    clerk = token("clerk_dhm")
    categories = client.get("/api/v1/categories", headers=clerk).get_json()["items"]
    garbage = next(c for c in categories if c["code"] == "E0102")
    assert (garbage["name"], garbage["major_code"], garbage["active"]) == ("暴露垃圾", "01", True)
    assert len(categories) == 74 and sum(c["emergency"] for c in categories) == 5
    streets = client.get("/api/v1/org-units?level=street", headers=clerk).get_json()["items"]
    assert [s["code"] for s in streets] == ["110101001", "110101002", "110101003"]
    assert streets[0]["parent_code"] == "110101"
    grids = client.get("/api/v1/org-units?level=grid", headers=clerk).get_json()["items"]
    assert len(grids) == 34
    children = client.get("/api/v1/org-units?parent=110101001", headers=clerk).get_json()["items"]
    assert children and {c["level"] for c in children} == {"community"}
    unit = client.get("/api/v1/org-units/110101001001001", headers=clerk).get_json()
    assert unit["level"] == "grid" and set(unit) == {"code", "name", "name_en", "level", "parent_code", "lat", "lng"}
    assert client.get("/api/v1/org-units/999", headers=clerk).status_code == 404
    assert client.get("/api/v1/org-units?parent=110101999", headers=clerk).status_code == 404
    bad = client.get("/api/v1/org-units?level=planet", headers=clerk)
    assert bad.status_code == 422 and field_errors(bad) == {"level"}
    departments = client.get("/api/v1/departments", headers=clerk).get_json()["items"]
    assert len(departments) == 10 and "HW" in {d["code"] for d in departments}


def test_process_versions_and_their_bpmn(client, token):
    clerk = token("clerk_dhm")
    versions = client.get("/api/v1/processes", headers=clerk).get_json()["items"]
    assert [(v["key"], v["version"]) for v in versions] == [("grid_case", 1)] and len(versions[0]["hash"]) == 64
    detail = client.get("/api/v1/processes/grid_case/1", headers=clerk).get_json()
    scenarios = sorted(f"scenarios/{p.name}" for p in (Path(__file__).parents[2] / "processes" / "scenarios").glob("*.toml"))
    assert detail["files"] == sorted(["assessment.toml", "grid_case.bpmn", "notices.toml", "policy.toml", "routing.dmn",
                                      "sla.dmn", "stages.toml", "supervision.dmn", *scenarios])
    scenario = client.get(f"/api/v1/processes/grid_case/1/files/{scenarios[0]}", headers=clerk)
    assert scenario.status_code == 200 and b"[[scenario]]" in scenario.data
    policy = client.get("/api/v1/processes/grid_case/1/files/policy.toml", headers=clerk)
    assert policy.mimetype == "application/toml" and b"[escalation.levels.street]" in policy.data
    bpmn = client.get("/api/v1/processes/grid_case/1/files/grid_case.bpmn", headers=clerk)
    assert bpmn.mimetype == "application/xml" and b"bpmn:definitions" in bpmn.data
    for path in ("/processes/grid_case/2", "/processes/nope/1", "/processes/grid_case/1/files/x.bpmn"):
        assert client.get(f"/api/v1{path}", headers=clerk).status_code == 404


def test_tokens_are_listed_created_and_revoked_by_their_user(client, token):
    clerk = token("clerk_dhm")
    created = client.post("/api/v1/tokens", json={"name": "hotline bridge"}, headers=clerk)
    assert created.status_code == 201
    new = created.get_json()
    assert new["user"] == "clerk_dhm" and new["token"].startswith("gf_") and new["revoked_at"] is None
    mine = {"Authorization": f"Bearer {new['token']}"}
    listed = client.get("/api/v1/tokens", headers=mine).get_json()["items"]
    assert {t["name"] for t in listed} == {"test", "hotline bridge"} and all("token" not in t for t in listed)
    # The new token acts as its user: same scope, so another street's case stays hidden.
    assert client.get("/api/v1/tasks", headers=mine).status_code == 200
    revoked = client.delete(f"/api/v1/tokens/{new['id']}", headers=clerk)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    response = client.get("/api/v1/tasks", headers=mine)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=clerk).status_code == 200  # again: harmless


def test_only_admins_manage_other_users_tokens(client, token):
    clerk, admin = token("clerk_dhm"), token("admin")
    other = client.post("/api/v1/tokens", json={"name": "js"}, headers=token("clerk_js")).get_json()
    assert client.get("/api/v1/tokens?user=clerk_js", headers=clerk).status_code == 403
    assert client.post("/api/v1/tokens", json={"user": "clerk_js"}, headers=clerk).status_code == 403
    assert client.delete(f"/api/v1/tokens/{other['id']}", headers=clerk).status_code == 404
    made = client.post("/api/v1/tokens", json={"user": "clerk_js", "name": "by admin"}, headers=admin)
    assert made.status_code == 201 and made.get_json()["user"] == "clerk_js"
    names = {t["name"] for t in client.get("/api/v1/tokens?user=clerk_js", headers=admin).get_json()["items"]}
    assert names == {"test", "js", "by admin"}
    assert client.delete(f"/api/v1/tokens/{other['id']}", headers=admin).status_code == 200
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {other['token']}"}).status_code == 401
    assert client.get("/api/v1/tokens?user=nobody", headers=admin).status_code == 404
    bad = client.post("/api/v1/tokens", json={"name": "x" * 101, "scope": "all"}, headers=clerk)
    assert bad.status_code == 422 and field_errors(bad) == {"name", "scope"}


def test_openapi_document_and_docs_page_need_no_token(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    complete = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]
    assert {"200", "401", "403", "404", "409", "412", "422"} <= set(complete["responses"])
    assert any(p["name"] == "If-Match" for p in complete["parameters"])
    assert "application/problem+json" in complete["responses"]["412"]["content"]
    report = spec["components"]["schemas"]["CaseReport"]
    assert {"category_code", "description"} <= set(report["required"])
    # A point places the case on its own, so the grid code is optional (and coord_system names the datum).
    assert "grid_code" not in report["required"] and report["properties"]["coord_system"]["enum"] == ["wgs84", "gcj02"]
    assert report["additionalProperties"] is False
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "/api/v1/tasks/{task_id}/claim" in html and "CaseReport" in html
    assert "http://" not in html.replace("http://localhost", "") and "https://" not in html  # nothing from a CDN
