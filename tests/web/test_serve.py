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


def _sweep_workers(pid: int) -> list[int]:
    """The sweep workers `serve` (process ``pid``) started: `worker --parent <its pid>`."""
    return [p for p, cmd in _children(pid) if f" worker --parent {pid}" in cmd]


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
                          lambda: _sweep_workers(server.pid),
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


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process tree from /proc")
def test_a_killed_server_leaves_no_sweep_worker_behind(demo_sqlite):
    """SIGKILL gives gunicorn no chance to stop the sweep: the worker notices it lost its parent
    and stops itself (and gunicorn's web workers do the same), so nothing sweeps unsupervised."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "serve",
                               "--port", str(port)], cwd=ROOT, env=demo_sqlite,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    everyone: list[int] = []
    try:
        sweepers = _until(time.monotonic() + 60,
                          lambda: _sweep_workers(server.pid),
                          "the sweep worker")
        everyone = _until(time.monotonic() + 60,
                          lambda: (kids := [p for p, _ in _children(server.pid)]) and len(kids) >= 3 and kids,
                          "the web workers")
        server.kill()
        server.wait(timeout=15)
        _until(time.monotonic() + 60, lambda: not any(_running(p) for p in everyone),
               "the sweep worker and the web workers to stop without their server")
        assert sweepers[0] in everyone
    finally:
        for pid in everyone:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process tree from /proc")
def test_a_sweep_worker_that_dies_is_started_again(demo_sqlite):
    """Without its sweep no timer fires: when the sweep worker dies under a running server (OOM
    killer, a crash), the server starts another and says so in its log."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "serve",
                               "--port", str(port)], cwd=ROOT, env=demo_sqlite,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        sweeps = lambda: [p for p in _sweep_workers(server.pid) if _running(p)]
        first = _until(time.monotonic() + 60, sweeps, "the sweep worker")
        os.kill(first[0], signal.SIGKILL)
        second = _until(time.monotonic() + 60, lambda: [p for p in sweeps() if p not in first], "another sweep worker")
        assert len(second) == 1
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=90)
        assert f"sweep worker (pid {first[0]}) exited" in out.decode()
        assert not _running(second[0])
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie awaiting its reaper)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_serve_adds_up_every_workers_metrics_and_logs_json_lines(demo_sqlite, tmp_path):
    import json
    port = _free_port()
    env = {**demo_sqlite, "GRIDFLOW_LOG_FORMAT": "json", "GRIDFLOW_METRICS_DIR": str(tmp_path / "metrics")}
    server = subprocess.Popen([sys.executable, "-c", "from cli.main import main; main()", "serve",
                               "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def get(path):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read().decode()
                conn.close()
                return response.status, body
            except OSError:
                return None
        _until(time.monotonic() + 60, lambda: get("/login"), "the server to listen")
        for _ in range(19):  # a new connection each: both web workers take some
            assert get("/login")[0] == 200
        counts = set()
        for _ in range(6):  # whichever worker answers the scrape counts all 20
            status, body = get("/metrics")
            assert status == 200
            line = next(l for l in body.splitlines() if l.startswith("gridflow_request_duration_seconds_count")
                        and 'endpoint="/login"' in l and 'method="GET"' in l)
            counts.add(float(line.rsplit(" ", 1)[1]))
        assert counts == {20.0}
        # One store for all: the web workers' and the sweep worker's counter files lie side by side.
        writers = {p.stem.rsplit("_", 1)[1] for p in (tmp_path / "metrics").glob("counter_*.db")}
        assert len(writers) >= 2, writers
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=90)  # a loaded machine stops slowly
    lines = [json.loads(l) for l in out.decode().splitlines() if l.startswith("{")]
    access = [l for l in lines if l["logger"] == "gunicorn.access" and l.get("path") == "/login"]
    assert len(access) == 20 and {a["status"] for a in access} == {200} and all(a["duration_ms"] >= 0 for a in access)
    assert any(l["logger"] == "gunicorn.error" and "Booting worker" in l["message"] for l in lines)


def test_a_metrics_failure_in_the_arbiters_child_handler_is_logged_not_raised():
    """child_exit runs inside gunicorn's SIGCHLD handler: an exception there would end the
    arbiter half-way through stopping (it did, once, and left the sweep worker running)."""
    from cli.server import GridflowServer

    class Log:
        def __init__(self):
            self.errors = []

        def exception(self, message, *args):
            self.errors.append(message % args)

    class Arbiter:
        log = Log()

    class Worker:
        pid = 4242

    server = GridflowServer({"INSTANCE_DIR": "/nonexistent", "LOG_FORMAT": "text"}, "127.0.0.1:0", sweep=False)

    def broken(pid):
        raise ImportError("half-initialised")

    server._process_exited = broken
    server._worker_exited(Arbiter, Worker)
    assert Arbiter.log.errors == ["could not mark worker 4242's metrics dead"]
