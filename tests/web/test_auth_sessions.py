"""Page sessions that can be ended: signing out ends saved cookies, deactivated users are
refused at once, sign-in attempts are throttled, and outdated password hashes are upgraded."""
from __future__ import annotations

from sqlalchemy import select

from engine.access import accounts
from models import User
from web import create_app

from tests.web.pages import csrf, sign_in


def _cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_cookie_saved_before_signing_out_no_longer_opens_the_inbox(client):
    token = sign_in(client, "clerk_dhm")
    saved = _cookie(client)
    assert client.get("/inbox").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    client.set_cookie("session", saved)
    response = client.get("/inbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_signing_out_ends_this_session_only_and_everywhere_ends_all(app):
    phone, desk, laptop = app.test_client(), app.test_client(), app.test_client()
    tokens = {c: sign_in(c, "clerk_dhm") for c in (phone, desk, laptop)}
    saved_phone = _cookie(phone)
    phone.post("/logout", data={"csrf_token": tokens[phone]})
    phone.set_cookie("session", saved_phone)
    assert phone.get("/inbox").status_code == 302          # this session ended, saved copies too
    assert desk.get("/inbox").status_code == 200           # the others go on
    assert laptop.get("/inbox").status_code == 200
    done = desk.post("/logout/everywhere", data={"csrf_token": tokens[desk]}, follow_redirects=True)
    assert "every device" in done.get_data(as_text=True) or "所有设备" in done.get_data(as_text=True)
    assert laptop.get("/inbox").status_code == 302         # every session ended
    assert desk.get("/inbox").status_code == 302
    sign_in(laptop, "clerk_dhm")                           # signing in again works
    assert laptop.get("/inbox").status_code == 200


def test_a_deactivated_user_is_refused_at_the_next_request_and_for_api_tokens(client, demo_db, token):
    sign_in(client, "clerk_dhm")
    bearer = token("clerk_dhm")
    assert client.get("/api/v1/tasks", headers=bearer).status_code == 200
    with demo_db() as session:
        session.scalars(select(User).where(User.username == "clerk_dhm")).one().active = False
        session.commit()
    assert client.get("/inbox").status_code == 302
    assert client.get("/api/v1/tasks", headers=bearer).status_code == 401


def test_sign_in_is_throttled_per_account_with_a_clear_message(demo_db, database_url):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "RATE_LIMIT_LOGIN_ACCOUNT": "3/minute", "RATE_LIMIT_LOGIN_ADDRESS": ""})
    client = app.test_client()
    token = csrf(client.get("/login"))
    for _ in range(3):
        wrong = client.post("/login", data={"username": "clerk_dhm", "password": "nope", "csrf_token": token})
        assert wrong.status_code == 401
    right = client.post("/login", data={"username": "clerk_dhm", "password": "gridflow-demo", "csrf_token": token})
    assert right.status_code == 429 and int(right.headers["Retry-After"]) >= 1
    assert "Too many sign-in attempts" in right.get_data(as_text=True) or "登录" in right.get_data(as_text=True)
    other = client.post("/login", data={"username": "clerk_js", "password": "gridflow-demo", "csrf_token": token})
    assert other.status_code == 302  # another account is not held up


def test_sign_in_is_throttled_per_address(demo_db, database_url):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "RATE_LIMIT_LOGIN_ACCOUNT": "", "RATE_LIMIT_LOGIN_ADDRESS": "2/minute"})
    client = app.test_client()
    token = csrf(client.get("/login"))
    codes = [client.post("/login", data={"username": name, "password": "nope", "csrf_token": token}).status_code
             for name in ("a", "b", "c")]
    assert codes == [401, 401, 429]


def test_an_outdated_password_hash_is_upgraded_at_sign_in(client, demo_db, monkeypatch):
    monkeypatch.setattr(accounts, "_N", 2 ** 12)
    weak = accounts.hash_password("gridflow-demo")
    monkeypatch.setattr(accounts, "_N", 2 ** 14)
    with demo_db() as session:
        session.scalars(select(User).where(User.username == "clerk_dhm")).one().password_hash = weak
        session.commit()
    sign_in(client, "clerk_dhm")
    with demo_db() as session:
        stored = session.scalars(select(User).where(User.username == "clerk_dhm")).one().password_hash
    assert stored.startswith("scrypt$16384$") and accounts.check_password(stored, "gridflow-demo")
