"""`gridflow serve` as a deployment runs it: gunicorn workers with keep-alive, a sweep worker
beside them, and SIGTERM ending everything."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="gunicorn needs fork")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _until(deadline: float, check, what: str):
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)  # polling with a deadline, not waiting for time to pass
    raise AssertionError(f"timed out waiting for {what}")


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every process descended from ``pid`` (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append((int(entry.name), cmdline))
                todo.append(int(entry.name))
    return found


@pytest.fixture
def demo_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/serve.db"
    env = {**os.environ, "GRIDFLOW_DATABASE_URL": url, "GRIDFLOW_WEB_WORKERS": "2"}
    env.pop("GRIDFLOW_TEST_DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "init", "--demo"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    return env


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process tree from /proc")
def test_serve_keeps_connections_alive_runs_the_sweep_and_stops_on_sigterm(demo_sqlite):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "serve",
                               "--port", str(port)], cwd=ROOT, env=demo_sqlite,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def answers():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/login")
                return conn
            except OSError:
                return None
        conn = _until(time.monotonic() + 60, answers, "the server to listen")
        first = conn.getresponse()
        first.read()
        conn.request("GET", "/track")
        second = conn.getresponse()
        second.read()
        assert first.status == 200
        for response in (first, second):
            assert (response.getheader("Connection") or "").lower() != "close"
            server_header = response.getheader("Server") or ""
            assert "werkzeug" not in server_header.lower() and "python" not in server_header.lower()
            assert response.getheader("X-Frame-Options") == "DENY"
        conn.close()
        sweepers = _until(time.monotonic() + 30,
                          lambda: [p for p, cmd in _children(server.pid) if cmd.rstrip().endswith(" worker")],
                          "the sweep worker")
        everyone = [p for p, _ in _children(server.pid)]
        assert sweepers and len(everyone) >= 3  # two web workers and the sweep

        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        gone = lambda: all(not Path(f"/proc/{p}").exists() or "(Z)" in Path(f"/proc/{p}/stat").read_text()
                           for p in everyone)
        _until(time.monotonic() + 10, gone, "the workers and the sweep to exit")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
