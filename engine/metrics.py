"""Prometheus metrics: request latency per endpoint (observed by the web layer), timers fired by
the sweep, and, read from the database at each scrape, the sweep lag, the due timers, the open
incidents and the webhook backlog.

Several processes (gunicorn's web workers and the sweep worker) each count their own requests
and timers. `gridflow serve` points PROMETHEUS_MULTIPROC_DIR at a folder before any of them
imports prometheus_client (the library picks its value store when it is first imported), so each
process writes its counts there and a scrape of any web worker adds them up. Without that
variable (`serve --dev`, tests) the counts are those of this process.
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import sessionmaker

from engine.queries.status import operational_figures

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

_OWN = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "gridflow_request_duration_seconds", "Time to answer a request, by endpoint, method and status class.",
    ["endpoint", "method", "status"], registry=_OWN,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0))
TIMERS_FIRED = Counter("gridflow_timers_fired", "Cases whose due timers the sweep fired.", registry=_OWN)
SWEEP_INCIDENTS = Counter("gridflow_sweep_incidents", "Cases a sweep pass left with an incident.", registry=_OWN)


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(endpoint, method, f"{status // 100}xx").observe(seconds)


def record_sweep(fired: int, incidents: int) -> None:
    if fired:
        TIMERS_FIRED.inc(fired)
    if incidents:
        SWEEP_INCIDENTS.inc(incidents)


class DatabaseFigures(Collector):
    """Gauges read at scrape time with a handful of indexed queries (never a count of all cases)."""

    def __init__(self, sessions: sessionmaker, clock: Callable[[], datetime]):
        self.sessions, self.clock = sessions, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.sessions() as session:
            figures = operational_figures(session, self.clock())
        yield GaugeMetricFamily("gridflow_sweep_lag_seconds",
                                "Age of the oldest due timer not yet fired (0 when none is due).",
                                value=figures.sweep_lag_seconds)
        yield GaugeMetricFamily("gridflow_due_timers", "Cases with a due timer not yet fired.",
                                value=figures.due_timers)
        yield GaugeMetricFamily("gridflow_open_incidents", "Cases stopped by an incident.",
                                value=figures.open_incidents)
        yield GaugeMetricFamily("gridflow_webhook_backlog", "Webhook deliveries waiting to be sent.",
                                value=figures.webhook_backlog)
        yield GaugeMetricFamily("gridflow_webhook_failed", "Webhook deliveries that gave up.",
                                value=figures.webhook_failed)


def exposition(sessions: sessionmaker, clock: Callable[[], datetime]) -> tuple[bytes, str]:
    """The text a scrape answers (the processes' counts, then the database's figures) and its type."""
    counts = _OWN
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess
        counts = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(counts)
    figures = CollectorRegistry(auto_describe=False)
    figures.register(DatabaseFigures(sessions, clock))
    return generate_latest(counts) + generate_latest(figures), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """Tell the multiprocess store that a worker is gone (its live gauges no longer count)."""
    if os.environ.get(MULTIPROCESS_ENV):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid)


__all__ = ["observe_request", "record_sweep", "exposition", "process_exited", "DatabaseFigures"]
