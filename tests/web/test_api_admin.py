"""/api/v1/admin: the administration operations for scripts, with the pages' checks and scope."""
from __future__ import annotations

import io
from pathlib import Path

DEMO = Path("cities/demo")


def test_an_admin_script_creates_a_user_whose_token_then_works_until_deactivated(client, token):
    admin = token("admin")
    created = client.post("/api/v1/admin/users", headers=admin, json={
        "username": "bridge", "name": "12345 接口", "memberships": [{"role": "acceptance_clerk", "org_unit": "110101001"}]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["initial_code"] and body["initial_code_expires_at"] and "initial_password" not in body
    assert body["memberships"] == [
        {"role": "acceptance_clerk", "org_unit": "110101001", "department": ""}]
    assert created.headers["Location"].endswith("/api/v1/admin/users/bridge")
    bridge = token("bridge")
    assert client.get("/api/v1/tasks", headers=bridge).status_code == 200
    off = client.post("/api/v1/admin/users/bridge/deactivate", headers=admin)
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert client.get("/api/v1/tasks", headers=bridge).status_code == 401
    changes = client.get("/api/v1/admin/changes?code=bridge", headers=admin).get_json()
    assert [c["action"] for c in changes["items"]] == ["deactivate", "create"]
    assert changes["items"][0]["actor"] == "admin" and changes["items"][0]["old"] == {"active": True}


def test_bad_input_is_422_naming_the_field_and_nothing_is_written(client, token):
    admin = token("admin")
    answer = client.post("/api/v1/admin/users", headers=admin, json={
        "username": "clerk_dhm", "name": "重名", "memberships": [{"role": "grid_worker", "org_unit": "110101001"}]})
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.get_json()["errors"]}
    assert fields == {"memberships.0.org_unit"}
    answer = client.post("/api/v1/admin/users", headers=admin, json={"username": "clerk_dhm", "name": "重名"})
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "username"
    answer = client.post("/api/v1/admin/users", headers=admin, json={"username": "x", "name": "y", "extra": 1})
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "extra"


def test_only_admins_and_only_in_their_scope(client, token):
    assert client.get("/api/v1/admin/users", headers=token("clerk_dhm")).status_code == 403
    admin = token("admin")
    client.post("/api/v1/admin/users", headers=admin, json={
        "username": "admin_js", "name": "景山管理员", "memberships": [{"role": "admin", "org_unit": "110101002"}]})
    street = token("admin_js")
    assert client.get("/api/v1/admin/users/clerk_dhm", headers=street).status_code == 404
    assert client.get("/api/v1/admin/users/clerk_js", headers=street).status_code == 200
    assert client.patch("/api/v1/admin/org-units/110101001001001", headers=street, json={"name": "x"}).status_code == 404
    assert client.patch("/api/v1/admin/departments/HW", headers=street, json={"name": "x"}).status_code == 403
    renamed = client.patch("/api/v1/admin/org-units/110101002001001", headers=street, json={"name": "景山一格"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "景山一格"


def test_departments_and_categories_through_the_api(client, token):
    admin = token("admin")
    made = client.post("/api/v1/admin/departments", headers=admin, json={"code": "WX", "name": "区文旅局"})
    assert made.status_code == 201 and made.get_json()["active"] is True
    assert client.patch("/api/v1/admin/departments/WX", headers=admin, json={"active": False}).get_json()["active"] is False
    refused = client.patch("/api/v1/admin/categories/E0102", headers=admin, json={"active": False})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "active"
    changed = client.patch("/api/v1/admin/categories/E0102", headers=admin, json={"emergency": True})
    assert changed.status_code == 200 and changed.get_json()["emergency"] is True


def test_the_city_import_through_the_api_dry_runs_by_default_and_lists_problems(client, token):
    admin = token("admin")
    files = {p.name: p.read_bytes() for p in DEMO.iterdir() if p.is_file()}
    files["departments.csv"] += "WX,区文旅局,Culture,district\n".encode()
    upload = lambda fs: {"files": [(io.BytesIO(v), k) for k, v in fs.items()]}
    dry = client.post("/api/v1/admin/city-import", headers=admin, data=upload(files), content_type="multipart/form-data")
    assert dry.status_code == 200 and dry.get_json()["changes"] == ["add department WX 区文旅局"]
    assert dry.get_json()["dry_run"] is True
    assert "WX" not in {d["code"] for d in client.get("/api/v1/admin/departments", headers=admin).get_json()["items"]}
    broken = dict(files, **{"users.csv": files["users.csv"] + "bad name!,坏,zh\n".encode()})
    refused = client.post("/api/v1/admin/city-import?dry_run=false", headers=admin, data=upload(broken),
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    assert any(e["field"].startswith("users.csv row") and e["field"].endswith("column username")
               for e in refused.get_json()["errors"])
    done = client.post("/api/v1/admin/city-import?dry_run=false", headers=admin, data=upload(files),
                       content_type="multipart/form-data")
    assert done.status_code == 200
    assert "WX" in {d["code"] for d in client.get("/api/v1/admin/departments", headers=admin).get_json()["items"]}


def test_the_admin_operations_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/admin/users", "/api/v1/admin/users/{username}", "/api/v1/admin/users/{username}/deactivate",
                 "/api/v1/admin/org-units/{unit_code}", "/api/v1/admin/departments/{department_code}",
                 "/api/v1/admin/categories/{category_code}", "/api/v1/admin/city-import", "/api/v1/admin/changes"):
        assert path in paths, path
    assert client.get("/api/v1/docs").status_code == 200


def test_a_password_reset_through_the_api_answers_a_one_time_code(client, token):
    clerk = token("clerk_dhm")
    answer = client.post("/api/v1/admin/users/clerk_dhm/password", headers=token("admin"))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["username"] == "clerk_dhm" and body["initial_code"] and body["expires_at"]
    assert "password" not in body
    assert client.get("/api/v1/tasks", headers=clerk).status_code == 200  # API tokens are not page sessions
    refused = client.post("/api/v1/admin/users/nobody/password", headers=token("admin"))
    assert refused.status_code == 404


def test_a_password_link_through_the_api(client, token):
    answer = client.post("/api/v1/admin/users/clerk_dhm/password-link", headers=token("admin"))
    assert answer.status_code == 200
    body = answer.get_json()
    assert "/set-password/" in body["url"] and body["expires_at"]
    assert client.get(body["url"].split("localhost", 1)[1]).status_code == 200
