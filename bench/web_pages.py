"""`gridflow bench web`, page half: time every page and list users open through the Flask test
client, each as the user who opens it, and print the server time of each path.

The paths are described here only (by URL), so the same benchmark can be run against an older
checkout to compare. A path that does not exist there (404) is reported as null, not timed.
"""
from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select

from models import Case, Task, User

from bench.web_engine import BOARD_USER, INBOX_USERS
from engine.queries.inbox import inbox_page

INBOX_URL = "/inbox"
BOARD_URL = "/board"
LOGIN_URL = "/login"
PASSWORD = "gridflow-demo"  # the demo city's shared password (README)
SEARCH_USER = "super_district"  # sees every case: the widest search
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
# Words of the generated cases (demo/generate.py): a category name (about 1 case in 74), a phrase
# of about one case in seven, and a two-character word with no trigram (the fallback).
RARE_WORDS, COMMON_WORDS, SHORT_WORDS = "燃气井盖", "安全隐患", "垃圾"
# Targets: inbox ≤ 50 ms, board ≤ 200 ms, every other path ≤ 100 ms (issue 12).
TARGET_MS = {"inbox_clerk": 50, "inbox_handler": 50, "board": 200}
OTHER_TARGET_MS = 100


@dataclass(frozen=True)
class Path:
    key: str
    username: str | None   # None: anonymous (Open311, probes)
    url: str


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


def paths(app) -> list[Path]:
    """Every page and list to time, with a real case and task of the generated data."""
    sessions = app.extensions["gridflow.sessions"]
    rt = app.extensions["gridflow.runtime"]
    with sessions() as session:
        # The task page of the first of the inbox users whose inbox has one (a small database may
        # leave the clerk's street with nothing to accept).
        task, task_user = None, None
        for username in INBOX_USERS.values():
            user = session.scalars(select(User).where(User.username == username)).one()
            task = next(iter(inbox_page(session, user, now=rt.clock()).items), None)
            if task is not None:
                task_user = username
                break
        case_code = session.scalar(select(Case.code).join(Task, Task.case_id == Case.id)
                                   .where(Task.status == "open", Task.stage == "handle")
                                   .order_by(Case.id.desc()).limit(1))
    found = [
        *(Path(key, username, INBOX_URL) for key, username in INBOX_USERS.items()),
        Path("board", BOARD_USER, BOARD_URL),
        Path("cases", SEARCH_USER, "/cases"),
        Path("cases_offset_5000", SEARCH_USER, "/cases?offset=5000"),
        Path("cases_text_rare", SEARCH_USER, f"/cases?q={RARE_WORDS}"),
        Path("cases_text_common", SEARCH_USER, f"/cases?q={COMMON_WORDS}"),
        Path("cases_text_short", SEARCH_USER, f"/cases?q={SHORT_WORDS}"),
        Path("cases_open_in_street", INBOX_USERS["inbox_clerk"], "/cases?status=open"),
        Path("open311_requests", None, "/open311/v2/requests.json"),
        Path("healthz", None, "/healthz"),
        Path("readyz", None, "/readyz"),
    ]
    if case_code:
        found.append(Path("case_page", SEARCH_USER, f"/cases/{case_code}"))
    if task is not None:
        found.append(Path("task_page", task_user, f"/tasks/{task.id}"))
    # Pages other branches add: timed once they exist (a 404 there is reported as null).
    found += [Path("map", SEARCH_USER, "/map"), Path("assessment", SEARCH_USER, "/assessment")]
    return found


def time_pages(app, repeat: int, echo: Callable[[str], None] = print) -> dict[str, float | None]:
    """Median server ms over ``repeat`` requests of each path, each as its own user; a line per path."""
    # Public lists are rate-limited per address, and every request here comes from one.
    app.config["RATE_LIMIT_TRACKING"] = ""
    figures: dict[str, float | None] = {}
    clients: dict[str | None, object] = {}
    for path in paths(app):
        client = clients.get(path.username)
        if client is None:
            client = clients[path.username] = app.test_client()
            if path.username:
                sign_in(client, path.username)
        first = client.get(path.url)  # warm up
        if first.status_code == 404:
            figures[f"{path.key}_ms"] = None
            echo(f"{path.key:22} {path.url:40} not on this version (404)")
            continue
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path.url)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code not in (200, 503):  # /readyz may say not ready, cheaply
                raise RuntimeError(f"GET {path.url} as {path.username}: HTTP {response.status_code}")
        median = round(statistics.median(times), 2)
        figures[f"{path.key}_ms"] = median
        target = TARGET_MS.get(path.key, OTHER_TARGET_MS)
        verdict = "ok" if median <= target else f"over {target} ms"
        echo(f"{path.key:22} {path.url:40} {median:9.2f} ms  p90 {_p90(times):9.2f} ms  {verdict}")
    return figures


def _p90(times: list[float]) -> float:
    ordered = sorted(times)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))], 2)
