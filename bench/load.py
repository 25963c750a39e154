"""`gridflow bench load`: whole case lifecycles over HTTP against `gridflow serve` on PostgreSQL.

For each web worker count W it starts gunicorn with W workers (`serve --no-sweep`) and two
`gridflow worker` sweep processes on a fresh demo database, then:
- one client drives lifecycles one after another (the time of a whole lifecycle over HTTP);
- K clients, each on its own keep-alive connection, drive lifecycles for a bounded time
  (lifecycles per second sustained, p50/p95/p99 per kind of request, the count of 5xx).
A lifecycle is what an integrating system does: report a case (POST /api/v1/cases), read it
(GET /api/v1/cases/<code>), then answer each open task as its role's user
(POST /api/v1/tasks/<id>/complete) until none is left, reading the next open task from each
answer: ten requests. The clients run on the same machine as the server and take
their share of its cores: figures are for comparison on one machine, in one run.
"""
from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-c", "from cli.main import main; main()"]
GRID = "110101001001001"
REPORT = {"category_code": "E0102", "grid_code": GRID, "address": "南池子大街12号",
          "description": "路边堆放生活垃圾（压测）", "source": "hotline", "reporter_phone": "13900001111"}
# Who answers each role's tasks in the demo city's grid, and with what (by stage).
USERS = {"acceptance_clerk": "clerk_dhm", "dispatcher": "dispatch_dhm", "department_handler": "handler_hw",
         "grid_worker": "grid_dhm_01", "shift_leader": "leader_dhm", "supervisor": "super_dhm"}
ANSWERS = {
    "accept": {"decision": "file", "accept_note": "属实，立案"},
    "dispatch": {"level": "department", "department_code": "HW", "dispatch_note": "请按时处置"},
    "sign": {"sign_decision": "sign"},
    "handle": {"action": "done"},
    "feedback": {"result": "已清理完毕，现场恢复整洁"},
    "callback": {"satisfaction": "satisfied"},
    "verify": {"verify_result": "pass"},
    "close": {"close_note": "核查通过，结案"},
}
MAX_STEPS = 20


class Client:
    """One keep-alive connection; records (kind, seconds, status) of every request."""

    def __init__(self, port: int, tokens: dict[str, str], record: Callable[[str, float, int], None]):
        self.port, self.tokens, self.record = port, tokens, record
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, kind: str, method: str, path: str, body: dict | None, user: str) -> tuple[int, dict]:
        payload = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.tokens[user]}", "Content-Type": "application/json"}
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            status, raw = 599, b"{}"
        self.record(kind, time.perf_counter() - started, status, raw)
        try:
            return status, json.loads(raw or b"{}")
        except ValueError:
            return status, {}

    def lifecycle(self) -> bool:
        """Report a case and answer its tasks until none is open; True when it ended cleanly."""
        status, case = self.call("report", "POST", "/api/v1/cases", REPORT, USERS["acceptance_clerk"])
        if status != 201:
            return False
        # The intake answer names the case; its open tasks come with the case itself.
        status, case = self.call("read case", "GET", f"/api/v1/cases/{case['code']}", None, USERS["acceptance_clerk"])
        if status != 200:
            return False
        for _ in range(MAX_STEPS):
            tasks = case.get("open_tasks") or []
            if not tasks:
                return True
            task = tasks[0]
            answer = ANSWERS.get(task["stage"])
            user = USERS.get(task["role"])
            if answer is None or user is None:
                return False
            status, case = self.call(f"complete {task['stage']}", "POST", f"/api/v1/tasks/{task['id']}/complete",
                                     answer, user)
            if status != 200:
                return False
        return False


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors = 0
        self.statuses: dict[int, int] = defaultdict(int)
        self.first_error: str | None = None  # what the first 5xx (or refused step) answered

    def __call__(self, kind: str, seconds: float, status: int, body: bytes = b""):
        with self.lock:
            self.samples[kind].append(seconds)
            self.statuses[status] += 1
            if status >= 500:
                self.errors += 1
            if status >= 400 and self.first_error is None:
                self.first_error = f"{kind}: {status} {body[:300].decode(errors='replace')}"

    def percentiles(self) -> dict[str, dict[str, float]]:
        every = [s for values in self.samples.values() for s in values]
        out = {kind: _pcts(values) for kind, values in sorted(self.samples.items())}
        out["all"] = _pcts(every)
        return out


def _pcts(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"n": len(ordered), "p50_ms": round(pick(0.50) * 1000, 1), "p95_ms": round(pick(0.95) * 1000, 1),
            "p99_ms": round(pick(0.99) * 1000, 1)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(url: str, env: dict) -> dict[str, str]:
    """Empty the database, load the demo city, and return an API token per user of USERS."""
    from models import make_engine
    engine = make_engine(url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("bench load runs on PostgreSQL: give --database-url postgresql+psycopg2://...")
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    subprocess.run([*COMMAND, "init", "--demo"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    from engine.access.accounts import issue_token
    from engine.assembly import make_runtime
    from engine.settings import load_settings
    from models import make_session_factory
    engine = make_engine(url)
    rt = make_runtime(load_settings({"DATABASE_URL": url}))
    tokens = {}
    with make_session_factory(engine)() as session:
        for user in sorted(set(USERS.values())):
            tokens[user] = issue_token(session, rt, user, "bench load")
        session.commit()
    engine.dispose()
    return tokens


def _until_listening(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)  # polling for the server to come up, with a deadline
    raise RuntimeError("the server did not start listening")


def _drive(port: int, tokens: dict, clients: int, seconds: float) -> tuple[Recorder, int, float]:
    recorder, done, stop = Recorder(), [0], time.monotonic() + seconds
    lock = threading.Lock()

    def run():
        client = Client(port, tokens, recorder)
        while time.monotonic() < stop:
            if client.lifecycle():
                with lock:
                    done[0] += 1
        client.conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return recorder, done[0], time.perf_counter() - started


def run_load(url: str, workers: list[int], clients: int, seconds: float, single_seconds: float,
             echo: Callable[[str], None] = print) -> dict:
    env = {**os.environ, "GRIDFLOW_DATABASE_URL": url, "GRIDFLOW_SECRET_KEY": secrets.token_urlsafe(48),
           # The clients all come from 127.0.0.1: the per-address intake limit would stop them.
           "GRIDFLOW_RATE_LIMIT_API": "", "GRIDFLOW_METRICS": "false"}
    env.pop("GRIDFLOW_TEST_DATABASE_URL", None)
    results = {}
    for w in workers:
        tokens = fresh_database(url, env)
        port = _free_port()
        procs = [subprocess.Popen([*COMMAND, "serve", "--no-sweep", "--port", str(port)], cwd=ROOT,
                                  env={**env, "GRIDFLOW_WEB_WORKERS": str(w)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        procs += [subprocess.Popen([*COMMAND, "worker"], cwd=ROOT, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        try:
            _until_listening(port, time.monotonic() + 60)
            _drive(port, tokens, 1, 2.0)  # warm-up: imports, caches, connections
            one, one_done, one_elapsed = _drive(port, tokens, 1, single_seconds)
            many, many_done, many_elapsed = _drive(port, tokens, clients, seconds)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        per_lifecycle = round(one_elapsed / one_done * 1000, 1) if one_done else None
        figures = {
            "one_client_ms_per_lifecycle": per_lifecycle,
            "one_client_lifecycles": one_done,
            "clients": clients,
            "lifecycles_per_second": round(many_done / many_elapsed, 2) if many_elapsed else 0,
            "lifecycles": many_done,
            "requests": sum(len(v) for v in many.samples.values()),
            "errors_5xx": many.errors + one.errors,
            "latency": many.percentiles(),
            "statuses": dict(sorted(many.statuses.items())),
            "first_error": one.first_error or many.first_error,
        }
        results[f"workers_{w}"] = figures
        lat = figures["latency"]["all"]
        echo(f"W={w}: one client {per_lifecycle} ms per lifecycle; {clients} clients "
             f"{figures['lifecycles_per_second']} lifecycles/s, p50 {lat.get('p50_ms')} ms, "
             f"p95 {lat.get('p95_ms')} ms, p99 {lat.get('p99_ms')} ms, {figures['errors_5xx']} 5xx")
    return {"database": "postgresql", "seconds": seconds, **results}


__all__ = ["run_load", "Client"]
