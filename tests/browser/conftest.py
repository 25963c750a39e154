"""Browser fixtures: the real app served on 127.0.0.1 over a fresh demo database, Debian's
Chromium driven by Playwright, one browser context per user, screenshots of every page seen.

Chromium comes from the system (``make test`` installs Debian's package when it can); without
it these tests skip, naming what is missing, except under CI=true, where they fail.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from web import create_app

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "screenshots"
PASSWORD = "gridflow-demo"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def _missing(what: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run: {what}; with CI=true they must run", pytrace=False)
    pytest.skip(f"browser tests skipped: {what}")


@pytest.fixture(scope="session")
def chromium():
    """A running headless Chromium (the system's, never a downloaded build)."""
    path = shutil.which("chromium")
    if path is None:
        _missing("no `chromium` on PATH (Debian package `chromium`; "
                 "`make test` installs it when run as root with apt-get)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package `playwright` is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class LiveServer:
    app: object
    url: str


@pytest.fixture
def live_settings() -> dict:
    """Settings a test module adds to the served app's (override this fixture there)."""
    return {}


@pytest.fixture
def live_server(demo_db, database_url, tmp_path, live_settings):
    """The app factory's app served by werkzeug in a thread; it shares this process's clock."""
    app = create_app({
        "DATABASE_URL": database_url,
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
        # Time is moved on by days in some tests; nobody should be signed out by that.
        "SESSION_IDLE_MINUTES": 60 * 24 * 30,
        "SESSION_MAX_HOURS": 24 * 30,
        **live_settings,
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="gridflow-live", daemon=True)
    thread.start()
    yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["gridflow.db"].dispose()


@dataclass
class Pages:
    """Signed-in pages of one test, each user in a browser context of their own."""
    browser: object
    base_url: str
    folder: Path
    problems: list = field(default_factory=list)
    contexts: list = field(default_factory=list)
    shots: int = 0

    def open(self, username: str | None = None, *, viewport=DESKTOP, clock: bool = False):
        """A new context's page, signed in as ``username`` (through the sign-in form) if given."""
        context = self.browser.new_context(base_url=self.base_url, viewport=viewport, locale="zh-CN",
                                           timezone_id="Asia/Shanghai")
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        if clock:
            page.clock.install()
        who = username or "anonymous"
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(
            f"{who} console: {msg.text} ({msg.location.get('url')})"))
        page.on("pageerror", lambda exc: self.problems.append(f"{who} page error: {exc}"))
        page.on("response", lambda r: r.status >= 500 and self.problems.append(f"{who} HTTP {r.status}: {r.url}"))
        if username:
            page.goto("/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("form button.primary")
            page.wait_for_url(re.compile(r"/(inbox|board)"))
        return page

    def shot(self, page, name: str) -> Path:
        """Save a full-page screenshot as ``<nn>-<name>.png`` in this test's folder."""
        self.shots += 1
        path = self.folder / f"{self.shots:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def pages(request, chromium, live_server):
    folder = SCREENSHOTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    helper = Pages(browser=chromium, base_url=live_server.url, folder=folder)
    yield helper
    for context in helper.contexts:
        context.close()
    assert not helper.problems, "the pages reported errors:\n" + "\n".join(helper.problems)
