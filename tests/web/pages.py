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


def sign_in_with_code(client, username: str, code: str, password: str = "my-own-password") -> str:
    """Sign in once with an initial code, choose ``password`` on the page it leads to, then sign in
    with that password; return the session's CSRF token. Asserts the code itself opened no session."""
    token = csrf(client.get("/login"))
    chosen = client.post("/login", data={"username": username, "password": code, "csrf_token": token})
    assert chosen.status_code == 200 and 'action="/set-password"' in chosen.get_data(as_text=True), chosen.data[:500]
    assert client.get("/inbox").status_code == 302
    done = client.post("/set-password", data={"csrf_token": token, "username": username, "code": code,
                                              "password": password, "repeated": password})
    assert done.status_code == 302, done.data[:500]
    return sign_in(client, username, password)


def text(response) -> str:
    return response.get_data(as_text=True)
