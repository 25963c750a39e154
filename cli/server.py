"""`gridflow serve`: gunicorn web workers (threaded, keep-alive) and, beside them, one sweep
process (`gridflow worker`); SIGTERM stops both cleanly."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from cli.logs import gunicorn_logconfig

# How `serve` starts the sweep: the same interpreter running this package's command, told to
# stop when `serve` is gone (a server that dies any other way must not leave it sweeping).
WORKER_COMMAND = [sys.executable, "-c", "from cli.main import main; main()", "worker"]


# A sweep worker that dies while the server runs is started again, at most this often (seconds),
# so one that cannot start (a broken database URL, say) is retried without spinning.
SWEEP_RESTART_SECONDS = 5.0


def default_workers() -> int:
    """Web worker processes sized to the machine: 2 x cores + 1, at most 4 (SQLite writes serialise)."""
    return min(2 * (os.cpu_count() or 1) + 1, 4)


def share_metrics(settings: dict) -> Path | None:
    """Give the web workers and the sweep worker one folder for their metrics (emptied now: the
    counts start again with the server). Must run before prometheus_client is imported here."""
    if not settings.get("METRICS", True):
        return None
    if "prometheus_client" in sys.modules:  # too late: it has chosen its per-process store
        raise RuntimeError("prometheus_client was imported before the metrics folder was set")
    folder = Path(settings.get("METRICS_DIR") or Path(settings["INSTANCE_DIR"]) / "metrics")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


class GridflowServer(BaseApplication):
    """gunicorn configured from the settings alone; each worker builds its own app after the fork."""

    def __init__(self, settings: dict, bind: str, *, sweep: bool):
        self.settings = settings
        self.bind = bind
        self.sweep = sweep
        self.sweeper: subprocess.Popen | None = None
        self._process_exited = None
        self._sweeper_started = 0.0
        super().__init__()

    def run(self):
        try:
            _SweepingArbiter(self).run()
        except RuntimeError as exc:  # as gunicorn's own run(): a bad setting, said plainly
            print(f"\nError: {exc}\n", file=sys.stderr)
            sys.exit(1)

    def load_config(self):
        s = self.settings
        options = {
            "bind": self.bind,
            "workers": int(s.get("WEB_WORKERS") or 0) or default_workers(),
            # gthread keeps connections alive (the sync worker closes every one).
            "worker_class": "gthread",
            "threads": int(s.get("WEB_THREADS") or 4),
            "keepalive": int(s.get("KEEPALIVE_SECONDS") or 5),
            "graceful_timeout": int(s.get("GRACEFUL_TIMEOUT_SECONDS") or 10),
            "accesslog": "-",
            "errorlog": "-",
            # Proxy headers are read by ProxyFix (PROXY_FIX), not by gunicorn.
            "forwarded_allow_ips": "",
            "proc_name": "gridflow",
            "on_starting": self._start_sweeper,
            "on_exit": self._stop_sweeper,
            "child_exit": self._worker_exited,
        }
        logconfig = gunicorn_logconfig(s)
        if logconfig is not None:
            options["logconfig_dict"] = logconfig
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        from web import create_app
        return create_app()

    def _start_sweeper(self, arbiter):
        # Imported here, before any worker exists: child_exit runs inside the arbiter's SIGCHLD
        # handler, where a first import could be interrupted by the next worker's exit and the
        # nested handler would find the module half-initialised (ImportError, the arbiter died
        # and left the sweep worker running). share_metrics has set the metrics folder by now.
        from engine.metrics import process_exited
        self._process_exited = process_exited
        if self.sweep:
            self._spawn_sweeper(arbiter)

    def _spawn_sweeper(self, arbiter):
        self.sweeper = subprocess.Popen([*WORKER_COMMAND, "--parent", str(os.getpid())])
        self._sweeper_started = time.monotonic()
        arbiter.log.info("sweep worker started (pid %s)", self.sweeper.pid)

    def keep_sweeper(self, arbiter):
        """Start the sweep again when it died while the server runs (called from the arbiter's
        loop about once a second). gunicorn reaps every child it has, so the exit status is lost
        when it got there first; the sweep's own log says why it stopped."""
        if self.sweeper is None or self.sweeper.poll() is None:
            return
        if time.monotonic() - self._sweeper_started < SWEEP_RESTART_SECONDS:
            return
        arbiter.log.error("sweep worker (pid %s) exited with code %s; starting another",
                          self.sweeper.pid, self.sweeper.returncode)
        self._spawn_sweeper(arbiter)

    def _worker_exited(self, arbiter, worker):
        # Runs in a signal handler of the arbiter: whatever goes wrong here is logged, never
        # raised, or it would end the server mid-way through stopping its workers.
        try:
            self._process_exited(worker.pid)
        except Exception:  # noqa: BLE001 - the arbiter must outlive a metrics failure
            arbiter.log.exception("could not mark worker %s's metrics dead", worker.pid)

    def _stop_sweeper(self, arbiter):
        if self.sweeper is None or self.sweeper.poll() is not None:
            return
        self.sweeper.terminate()
        try:
            self.sweeper.wait(timeout=int(self.settings.get("GRACEFUL_TIMEOUT_SECONDS") or 10))
        except subprocess.TimeoutExpired:
            self.sweeper.kill()
            self.sweeper.wait()
        arbiter.log.info("sweep worker stopped")


class _SweepingArbiter(Arbiter):
    """gunicorn's arbiter that also keeps `serve`'s sweep worker running."""

    def manage_workers(self):
        super().manage_workers()
        self.app.keep_sweeper(self)
