"""Helpers for page tests: sign in through the real form with its CSRF token."""
from __future__ import annotations

import re

CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')


def csrf(page) -> str:
    return CSRF.search(page.data).group(1).decode()


def sign_in(client, username: str, password: str = "gridflow-demo") -> str:
    """Sign in; return the session's CSRF token for later form posts."""
    token = csrf(client.get("/login"))
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.data[:500]
    return csrf(client.get("/inbox"))


def text(response) -> str:
    return response.get_data(as_text=True)
