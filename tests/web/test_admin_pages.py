"""The administration pages: users, org units, departments, categories, the city import with its
check report, and the change history, as an administrator of the district or of a street."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from tests.web.pages import csrf as csrf_of, sign_in, sign_in_with_code, text

DEMO = Path("cities/demo")


def new_user(client, csrf, **fields):
    data = {"csrf_token": csrf, "username": "clerk_new", "name": "新受理员", "locale": "zh",
            "role-0": "acceptance_clerk", "org_unit-0": "110101001"}
    data.update(fields)
    return client.post("/admin/users/new", data=data)


def test_an_admin_creates_a_user_who_chooses_a_password_with_the_code_shown_once(client, app):
    csrf = sign_in(client, "admin")
    page = new_user(client, csrf)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    code = re.search(r'id="initial-code">([^<]+)<', text(page)).group(1)
    other = app.test_client()
    sign_in_with_code(other, "clerk_new", code)
    assert other.get("/inbox").status_code == 200
    spent = app.test_client()  # the code worked once
    refused = spent.post("/login", data={"username": "clerk_new", "password": code,
                                         "csrf_token": csrf_of(spent.get("/login"))})
    assert refused.status_code == 401
    assert "clerk_new" in text(client.get("/admin/users?q=clerk_new"))
    history = text(client.get("/admin/history?kind=user&code=clerk_new"))
    assert "clerk_new" in history and "110101001" in history and code not in history


def test_a_bad_user_form_names_each_field_and_keeps_the_input(client):
    csrf = sign_in(client, "admin")
    page = new_user(client, csrf, username="brand_new", **{"role-0": "grid_worker", "org_unit-0": "110101001",
                                                           "role-1": "dispatcher", "org_unit-1": "999"})
    assert page.status_code == 422
    body = text(page)
    assert 'value="brand_new"' in body
    assert "cannot be held at a street" in body and "999 is not in org_units" in body
    assert "No users match" in text(client.get("/admin/users?q=brand_new&lang=en")) or \
        "brand_new</a>" not in text(client.get("/admin/users?q=brand_new"))
    duplicate = new_user(client, csrf, username="clerk_dhm")
    assert duplicate.status_code == 422 and "clerk_dhm" in text(duplicate)


def test_deactivating_a_user_ends_their_session_and_sign_in(client, app):
    clerk = app.test_client()
    sign_in(clerk, "clerk_dhm")
    csrf = sign_in(client, "admin")
    response = client.post("/admin/users/clerk_dhm/active", data={"csrf_token": csrf, "active": "0"})
    assert response.status_code == 302
    assert clerk.get("/inbox").status_code == 302          # their open page session is over
    login = clerk.get("/login")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', login.data).group(1).decode()
    refused = clerk.post("/login", data={"username": "clerk_dhm", "password": "gridflow-demo", "csrf_token": token})
    assert refused.status_code == 401


def test_a_password_reset_ends_the_old_password_and_shows_a_code_once(client, app):
    clerk = app.test_client()
    sign_in(clerk, "clerk_dhm")
    csrf = sign_in(client, "admin")
    page = client.post("/admin/users/clerk_dhm/password", data={"csrf_token": csrf})
    code = re.search(r'id="initial-code">([^<]+)<', text(page)).group(1)
    assert page.headers["Cache-Control"] == "no-store"
    assert "均已失效" in text(page) or "no longer work" in text(page)
    assert clerk.get("/inbox").status_code == 302            # signed out everywhere
    old = app.test_client()
    refused = old.post("/login", data={"username": "clerk_dhm", "password": "gridflow-demo",
                                       "csrf_token": csrf_of(old.get("/login"))})
    assert refused.status_code == 401
    sign_in_with_code(app.test_client(), "clerk_dhm", code)


def test_roles_are_changed_from_the_user_page(client):
    csrf = sign_in(client, "admin")
    page = client.post("/admin/users/clerk_dhm", data={"csrf_token": csrf, "name": "受理员甲", "locale": "en",
                                                       "role-0": "acceptance_clerk", "org_unit-0": "110101001",
                                                       "role-1": "dispatcher", "org_unit-1": "110101001"})
    assert page.status_code == 302
    body = text(client.get("/admin/users/clerk_dhm"))
    assert "受理员甲" in body and 'value="dispatcher" selected' in body


def test_a_street_admin_sees_only_their_street(client, app):
    csrf = sign_in(client, "admin")
    new_user(client, csrf, username="admin_dhm", **{"role-0": "admin", "org_unit-0": "110101001"})
    code = re.search(r'id="initial-code">([^<]+)<',
                     text(client.post("/admin/users/admin_dhm/password", data={"csrf_token": csrf}))).group(1)
    street = app.test_client()
    csrf2 = sign_in_with_code(street, "admin_dhm", code)
    users = text(street.get("/admin/users"))
    assert "clerk_dhm" in users and "clerk_js" not in users
    assert street.get("/admin/users/clerk_js").status_code == 404
    assert street.post("/admin/users/clerk_js/active", data={"csrf_token": csrf2, "active": "0"}).status_code == 404
    units = text(street.get("/admin/units"))
    assert "110101001001001" in units and "110101002001001" not in units
    assert 'action="/admin/departments"' not in text(street.get("/admin/departments"))
    assert street.post("/admin/departments", data={"csrf_token": csrf2, "code": "ZZ", "name": "x"}).status_code == 403


def test_someone_who_is_not_an_admin_gets_no_admin_pages(client):
    sign_in(client, "clerk_dhm")
    assert client.get("/admin/users").status_code == 403
    assert "/admin" not in text(client.get("/inbox"))


def test_units_departments_and_categories_are_changed_from_their_pages(client):
    csrf = sign_in(client, "admin")
    grid = "110101001001001"
    assert client.post(f"/admin/units/{grid}", data={"csrf_token": csrf, "name": "南池子一格", "name_en": "N1",
                                                    "area_type": "core", "active": "1"}).status_code == 302
    assert "南池子一格" in text(client.get("/admin/units"))
    refused = client.post("/admin/units/110101001001", data={"csrf_token": csrf, "name": "南池子社区", "name_en": "",
                                                           "area_type": "core", "active": "0"}, follow_redirects=True)
    assert "请先停用其下属区域" in text(refused)   # deactivate the units under it first
    added = client.post("/admin/departments", data={"csrf_token": csrf, "code": "WX", "name": "区文旅局",
                                                    "name_en": "Culture", "level": "district"})
    assert added.status_code == 302 and "区文旅局" in text(client.get("/admin/departments"))
    bad = client.post("/admin/departments", data={"csrf_token": csrf, "code": "wx!", "name": "", "level": "x"})
    assert bad.status_code == 422 and "upper-case" in text(bad)
    unrouted = client.post("/admin/categories", data={"csrf_token": csrf, "code": "E0199", "kind": "event",
                                                      "major_code": "01", "major_name": "市容环境", "minor_code": "99",
                                                      "name": "新小类", "default_department": "HW"})
    assert unrouted.status_code == 422 and "not named in decision" in text(unrouted)
    changed = client.post("/admin/categories/E0102", data={"csrf_token": csrf, "name": "暴露垃圾", "name_en": "Garbage",
                                                           "emergency": "on", "default_department": "HW", "active": "1"})
    assert changed.status_code == 302
    history = text(client.get("/admin/history?kind=category"))
    assert "E0102" in history and "Garbage" in history


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _apply_city(client, csrf: str, added: dict[str, bytes]):
    """Upload the demo city with ``added`` lines appended to its sheets and apply it at once."""
    files = {p.name: p.read_bytes() for p in DEMO.iterdir() if p.is_file()}
    for name, lines in added.items():
        files[name] += lines
    return client.post("/admin/import", data={"csrf_token": csrf, "action": "apply",
                                              "files": [(io.BytesIO(v), k) for k, v in files.items()]},
                       content_type="multipart/form-data")


def test_the_city_import_checks_shows_the_diff_and_applies_it(client):
    csrf = sign_in(client, "admin")
    files = {p.name: p.read_bytes() for p in DEMO.iterdir() if p.is_file()}
    files["departments.csv"] += "WX,区文旅局,Culture,district\n".encode()
    check = client.post("/admin/import", data={"csrf_token": csrf, "action": "check",
                                               "files": (io.BytesIO(_zip(files)), "city.zip")},
                        content_type="multipart/form-data")
    body = text(check)
    assert check.status_code == 200 and "add department WX 区文旅局" in body
    assert "区文旅局" not in text(client.get("/admin/departments"))
    bundle = re.search(r'name="bundle" value="([^"]+)"', body).group(1)
    applied = client.post("/admin/import", data={"csrf_token": csrf, "action": "apply", "bundle": bundle})
    assert applied.status_code == 200 and "add department WX 区文旅局" in text(applied)
    assert "区文旅局" in text(client.get("/admin/departments"))
    assert "WX" in text(client.get("/admin/history?kind=city"))


def test_an_imported_user_signs_in_with_the_initial_code_once_to_choose_a_password(client, app):
    applied = _apply_city(client, sign_in(client, "admin"), {"users.csv": "grid_new,新网格员,zh\n".encode(),
                                                             "memberships.csv": b"grid_new,grid_worker,110101001001001,\n"})
    code = re.search(r"<td>grid_new</td><td><code>([a-z0-9-]+)</code>", text(applied)).group(1)
    phone = app.test_client()
    token = csrf_of(phone.get("/login"))
    wrong = phone.post("/login", data={"username": "grid_new", "password": "gridflow-demo", "csrf_token": token})
    assert wrong.status_code == 401
    chosen = phone.post("/login", data={"username": "grid_new", "password": code.upper(), "csrf_token": token})
    assert chosen.status_code == 200 and chosen.headers["Cache-Control"] == "no-store"
    assert 'action="/set-password"' in text(chosen) and "新网格员" in text(chosen)
    assert phone.get("/inbox").status_code == 302  # the code opened no session
    form = {"csrf_token": token, "username": "grid_new", "code": code.upper()}
    short = phone.post("/set-password", data={**form, "password": "short", "repeated": "short"})
    assert short.status_code == 422 and 'name="code"' in text(short)
    done = phone.post("/set-password", data={**form, "password": "my-own-password", "repeated": "my-own-password"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    sign_in(phone, "grid_new", "my-own-password")
    assert phone.get("/inbox").status_code == 200
    other = app.test_client()  # the code was spent
    again = other.post("/login", data={"username": "grid_new", "password": code,
                                       "csrf_token": csrf_of(other.get("/login"))})
    assert again.status_code == 401


def test_a_broken_city_upload_lists_every_problem_and_changes_nothing(client):
    csrf = sign_in(client, "admin")
    page = _apply_city(client, csrf, {"departments.csv": "wx,区文旅局,Culture,district\n".encode(),
                                      "memberships.csv": b"nobody,grid_worker,110101001001001,\n"})
    body = text(page)
    assert page.status_code == 422
    assert "departments.csv" in body and "memberships.csv" in body and "nobody" in body
    assert "区文旅局" not in text(client.get("/admin/departments"))
    junk = client.post("/admin/import", data={"csrf_token": csrf, "action": "check",
                                              "files": (io.BytesIO(b"hi"), "notes.txt")},
                       content_type="multipart/form-data")
    assert junk.status_code == 422 and "notes.txt" in text(junk)


def test_a_set_password_link_lets_the_user_choose_their_password(client, app):
    csrf = sign_in(client, "admin")
    page = client.post("/admin/users/clerk_dhm/password-link", data={"csrf_token": csrf})
    assert page.headers["Cache-Control"] == "no-store"  # the link is shown once and kept nowhere
    link = re.search(r'id="password-link">([^<]+)<', text(page)).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    user = app.test_client()
    form = user.get("/" + path)
    assert form.status_code == 200 and "clerk_dhm" in text(form)
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(form)).group(1)
    short = user.post("/" + path, data={"csrf_token": token, "password": "short", "repeated": "short"})
    assert short.status_code == 422
    done = user.post("/" + path, data={"csrf_token": token, "password": "my-own-password", "repeated": "my-own-password"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    sign_in(app.test_client(), "clerk_dhm", "my-own-password")
    assert user.get("/" + path).status_code == 404   # used once
