"""`gridflow serve`: gunicorn web workers (threaded, keep-alive) and, beside them, one sweep
process (`gridflow worker`); SIGTERM stops both cleanly."""
from __future__ import annotations

import os
import subprocess
import sys

from gunicorn.app.base import BaseApplication

# How `serve` starts the sweep: the same interpreter running this package's command.
WORKER_COMMAND = [sys.executable, "-c", "from cli.main import main; main()", "worker"]


def default_workers() -> int:
    """Web worker processes sized to the machine: 2 x cores + 1, at most 4 (SQLite writes serialise)."""
    return min(2 * (os.cpu_count() or 1) + 1, 4)


class GridflowServer(BaseApplication):
    """gunicorn configured from the settings alone; each worker builds its own app after the fork."""

    def __init__(self, settings: dict, bind: str, *, sweep: bool):
        self.settings = settings
        self.bind = bind
        self.sweep = sweep
        self.sweeper: subprocess.Popen | None = None
        super().__init__()

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
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        from web import create_app
        return create_app()

    def _start_sweeper(self, arbiter):
        if self.sweep:
            self.sweeper = subprocess.Popen(WORKER_COMMAND)
            arbiter.log.info("sweep worker started (pid %s)", self.sweeper.pid)

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
