"""`gridflow bench web`, page half: time the inbox and board pages through the Flask test client.

The pages' URLs and the sign-in form are described here only; until a page exists (404) the
benchmark reports the engine figures alone.
"""
from __future__ import annotations

import re
import statistics
import time

from bench.web_engine import BOARD_USER, INBOX_USERS

INBOX_URL = "/inbox"
BOARD_URL = "/board"
LOGIN_URL = "/login"
PASSWORD = "gridflow-demo"  # the demo city's shared password (README)
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def sign_in(client, username: str) -> None:
    """Sign in through the login form (with its CSRF token) like a browser does."""
    page = client.get(LOGIN_URL)
    match = _CSRF.search(page.get_data(as_text=True))
    form = {"username": username, "password": PASSWORD}
    if match:
        form["csrf_token"] = match.group(1) or match.group(2)
    response = client.post(LOGIN_URL, data=form)
    if response.status_code >= 400:
        raise RuntimeError(f"signing in as {username} failed: HTTP {response.status_code}")


def pages_exist(app) -> bool:
    return app.test_client().get(INBOX_URL).status_code != 404


def time_pages(app, repeat: int) -> dict[str, float]:
    """Median server ms over ``repeat`` requests of each page, each as its own user."""
    figures = {}
    for key, (username, url) in {**{k: (u, INBOX_URL) for k, u in INBOX_USERS.items()},
                                 "board": (BOARD_USER, BOARD_URL)}.items():
        client = app.test_client()
        sign_in(client, username)
        client.get(url)  # warm up
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} as {username}: HTTP {response.status_code}")
        figures[f"{key}_ms"] = round(statistics.median(times), 2)
    return figures
