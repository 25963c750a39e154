"""Safe defaults: the published secret key is refused, cookies are SameSite, every response
carries security headers, and control characters in any text input are a 422 naming the field."""
from __future__ import annotations

import logging

import pytest

from engine.settings import load_settings
from web import create_app
from web.security import SHIPPED_SECRET_KEY, InsecureConfiguration


@pytest.mark.parametrize("key", [SHIPPED_SECRET_KEY, "short-but-secret"])
def test_the_published_or_a_short_key_is_refused_outside_demo_mode(database_url, key):
    with pytest.raises(InsecureConfiguration, match="GRIDFLOW_SECRET_KEY"):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": key, "DEMO": False})


def test_demo_mode_starts_with_the_published_key_and_says_so_loudly(database_url, caplog):
    with caplog.at_level(logging.WARNING):
        create_app({"DATABASE_URL": database_url, "SECRET_KEY": SHIPPED_SECRET_KEY, "DEMO": True})
    assert "DEMO MODE" in caplog.text and "GRIDFLOW_SECRET_KEY" in caplog.text


def test_any_flask_setting_can_come_from_the_environment(tmp_path):
    settings = load_settings(environ={"GRIDFLOW_SESSION_COOKIE_SECURE": "true",
                                      "GRIDFLOW_SESSION_COOKIE_NAME": "gf_session"})
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_NAME"] == "gf_session"


def test_session_cookie_is_samesite_lax_and_httponly(client):
    client.get("/login")
    response = client.post("/login", data={"username": "clerk_dhm", "password": "gridflow-demo",
                                           "csrf_token": _csrf(client)})
    cookie = response.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie


def test_secure_cookie_behind_https_is_a_setting(demo_db, database_url):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SESSION_COOKIE_SECURE": True})
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "clerk_dhm", "password": "gridflow-demo",
                                           "csrf_token": _csrf(client)})
    assert "Secure" in response.headers["Set-Cookie"]


def _csrf(client) -> str:
    with client.session_transaction() as session:
        return session.get("csrf") or ""


@pytest.mark.parametrize("path", ["/login", "/track", "/api/v1/openapi.json", "/open311/v2/services.json"])
def test_every_response_forbids_framing_and_sniffing(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "werkzeug" not in response.headers.get("Server", "").lower()


def test_pages_carry_no_inline_script():
    from pathlib import Path
    import re
    templates = Path(__file__).resolve().parents[2] / "web" / "templates"
    for page in templates.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"{page.name}: inline <script>"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{page.name}: inline event handler"


def test_a_nul_byte_at_sign_in_is_a_422_naming_the_field(client):
    response = client.post("/login", data={"username": "a\x00b", "password": "x"})
    assert response.status_code == 422
    assert "username" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/org-units/%00", "/api/v1/processes/%00/1"])
def test_a_nul_byte_in_an_api_path_is_a_422_problem(client, token, path):
    response = client.get(path, headers=token("clerk_dhm"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["errors"][0]["field"] == "path"


def test_a_control_character_in_json_names_its_field_but_line_breaks_are_fine(client, token):
    bad = client.post("/api/v1/cases", json={"description": "bell\x07"}, headers=token("clerk_dhm"))
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "description"
    fine = client.post("/api/v1/cases", json={"description": "line\nbreak\tand tab"}, headers=token("clerk_dhm"))
    assert not any("control characters" in e["message"] for e in (fine.json or {}).get("errors", []))


def test_a_large_json_body_is_413_before_it_is_parsed(demo_db, database_url, token):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "MAX_JSON_BYTES": 1024})
    response = app.test_client().post("/api/v1/cases", json={"description": "x" * 5000})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert len(response.get_data()) < 1000


def test_errors_never_echo_a_large_body_back(client, token):
    fields = {f"f{i}" * 20: "x" * 100 for i in range(1000)}  # ~200 KB, under MAX_JSON_BYTES
    response = client.post("/api/v1/cases", json=fields, headers=token("clerk_dhm"))
    assert response.status_code == 422
    assert len(response.json["errors"]) <= 50 and len(response.get_data()) < 40_000
