"""Run the sweep on an interval with APScheduler (in `gridflow serve` and `gridflow worker`)."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import sessionmaker

from engine import metrics
from engine.runtime import Runtime
from engine.lifecycle.sweep import SweepResult, sweep
from engine.outbound.retention import prune
from engine.outbound.webhooks import deliver_due

log = logging.getLogger("gridflow.sweep")


def drain(sessions: sessionmaker, rt: Runtime) -> SweepResult:
    """Sweep until a pass finds fewer due cases than a full batch."""
    total = SweepResult()
    batch = int(rt.settings.get("SWEEP_BATCH", 200))
    while True:
        result = sweep(sessions, rt, batch=batch)
        total.fired += result.fired
        total.conflicts += result.conflicts
        total.incidents += result.incidents
        total.lateness += result.lateness
        if result.fired + result.conflicts + len(result.incidents) < batch:
            break
    metrics.record_sweep(total.fired, len(total.incidents))
    if total.fired or total.incidents:
        log.info("sweep fired %d case(s), %d conflict(s), %d incident(s)",
                 total.fired, total.conflicts, len(total.incidents))
    return total


def start_sweeper(sessions: sessionmaker, rt: Runtime, *, blocking: bool = False):
    """Start the interval job; one run at a time per process, missed runs coalesced."""
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    scheduler.add_job(drain, "interval", args=[sessions, rt], id="sweep",
                      seconds=float(rt.settings.get("SWEEP_INTERVAL", 1.0)),
                      max_instances=1, coalesce=True)
    if rt.settings.get("WEBHOOKS"):
        # A separate job: a slow receiver holds up only the next delivery, never the sweep.
        scheduler.add_job(deliver_due, "interval", args=[sessions, rt], id="webhooks",
                          seconds=float(rt.settings.get("SWEEP_INTERVAL", 1.0)), max_instances=1, coalesce=True)
    # Retention (NOTIFICATION_RETENTION_DAYS, WEBHOOK_RETENTION_DAYS): hourly; one delete each.
    scheduler.add_job(prune, "interval", args=[sessions, rt], id="retention", seconds=3600,
                      max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
