"""Several sweep workers at once, and one killed mid-batch: every due timer fires exactly once.

These start real `gridflow worker` processes against the test database, so they run on
PostgreSQL (GRIDFLOW_TEST_DATABASE_URL); SQLite serializes writers in one file anyway.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import clock
from bench.timers import prepare_due_cases
from engine.assembly import make_runtime
from models import Case, CaseEvent

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not os.environ.get("GRIDFLOW_TEST_DATABASE_URL", "").startswith("postgresql"),
                                reason="multi-process sweep tests need PostgreSQL (GRIDFLOW_TEST_DATABASE_URL)")


def worker(database_url: str) -> subprocess.Popen:
    """A `gridflow worker --once`; its output goes to a file, so a worker whose output is not
    read yet (the one about to be killed) can never block on a full pipe."""
    env = {**os.environ, "GRIDFLOW_DATABASE_URL": database_url, "GRIDFLOW_SWEEP_BATCH": "25"}
    log = tempfile.TemporaryFile("w+")
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--once"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, text=True)
    process.log = log
    return process


def output(process: subprocess.Popen, timeout: float = 300) -> str:
    process.wait(timeout=timeout)
    process.log.seek(0)
    return process.log.read()


def fired_per_case(sessions, ids):
    with sessions() as session:
        rows = session.execute(select(CaseEvent.case_id, CaseEvent.kind, func.count())
                               .where(CaseEvent.case_id.in_(ids), CaseEvent.kind.in_(("timer", "overdue")))
                               .group_by(CaseEvent.case_id, CaseEvent.kind)).all()
        # still due; the escalation cycle of an overdue case keeps a timer armed for later
        pending = session.scalar(select(func.count()).select_from(Case)
                                 .where(Case.id.in_(ids), Case.next_timer_at <= clock.now()))
    counts = {}
    for case_id, kind, n in rows:
        counts.setdefault(case_id, {})[kind] = n
    return counts, pending


def test_two_workers_fire_every_due_timer_exactly_once(demo_db, settings, database_url):
    ids = prepare_due_cases(make_runtime(settings), demo_db, 120)  # the template case is due too
    workers = [worker(database_url), worker(database_url)]
    outputs = [output(w) for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs
    counts, pending = fired_per_case(demo_db, ids)
    assert pending == 0
    assert all(counts.get(i) == {"timer": 1, "overdue": 1} for i in ids), \
        {i: c for i, c in counts.items() if c != {"timer": 1, "overdue": 1}}
    fired = [int(out.split("fired ")[1].split()[0]) for out in outputs]
    assert sum(fired) == len(ids) and min(fired) > 0, outputs  # both took a share


def test_a_worker_killed_mid_batch_loses_and_repeats_nothing(demo_db, settings, database_url):
    ids = prepare_due_cases(make_runtime(settings), demo_db, 300)
    victim = worker(database_url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until it is well into the work, then kill it
        counts, _ = fired_per_case(demo_db, ids)
        if len(counts) >= 30:
            break
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    counts, pending = fired_per_case(demo_db, ids)
    assert 0 < len(counts) < len(ids) and pending > 0, "the worker was not killed mid-batch"
    survivor = worker(database_url)
    text = output(survivor)
    assert survivor.returncode == 0, text
    counts, pending = fired_per_case(demo_db, ids)
    assert pending == 0
    assert all(counts.get(i) == {"timer": 1, "overdue": 1} for i in ids)
