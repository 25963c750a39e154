"""`gridflow bench timers`: N cases whose handling deadline has passed, swept; timers per second
and lateness."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from typing import Callable

from sqlalchemy import func, insert, select
from sqlalchemy.orm import sessionmaker

from models import Case, CaseEvent, Task

from engine.lifecycle import cases as case_service
from engine import clock
from bench.common import MAIN_PATH_ANSWERS, Actors, delete_cases, ensure_demo
from demo.generate import analyze
from engine.runtime import Runtime
from engine.settings import PROJECT_ROOT
from engine.scheduler import drain

_CASES, _TASKS = Case.__table__, Task.__table__


def prepare_due_cases(rt: Runtime, sessions: sessionmaker, n: int, *, spread_seconds: float = 0) -> list[int]:
    """Create one case at handling whose deadlines are past and N - 1 copies of it: N due cases.

    With ``spread_seconds`` the copies become due one after another over that many seconds
    from now (to measure lateness); otherwise all are due at once.
    """
    ensure_demo(rt, sessions)
    with clock.shifted(-timedelta(days=10)):  # made ten days ago: its deadlines have passed now
        with sessions() as session:
            actors = Actors(session)
            case = case_service.report_case(session, rt, actors.for_task("acceptance_clerk", "110000/110101/110101001/"), {
                "category_code": "E0102", "grid_code": "110101001001001", "address": "测试路1号",
                "description": "计时器基准测试", "source": "patrol"})
            session.commit()
            for step in ("accept", "dispatch", "sign_for"):
                task = case_service.open_tasks(session, case)[0]
                payload = dict(MAIN_PATH_ANSWERS[step])
                if step == "dispatch":
                    payload["department_code"] = "HW"
                case_service.complete_task(session, rt, actors.for_task(task.role, task.scope_key), task.id, payload)
                session.commit()
            template = session.execute(select(_CASES).where(_CASES.c.id == case.id)).mappings().one()
            tasks = session.execute(select(_TASKS).where(_TASKS.c.case_id == case.id, _TASKS.c.status == "open")
                                    ).mappings().all()
    now = rt.clock()
    with sessions() as session:
        conn = session.connection()
        stamp = f"{int(time.time() * 1000) % 10**8:08d}"
        created = [case.id]
        for start in range(0, n - 1, 1000):
            rows = []
            for i in range(start, min(n - 1, start + 1000)):
                row = {k: v for k, v in template.items() if k != "id"}
                row["code"] = f"BT{stamp}{i:07d}"
                row["event_seq"] = 0  # a copy has none of the template's events: its chain starts empty
                row["next_timer_at"] = now + timedelta(seconds=spread_seconds * i / n) if spread_seconds \
                    else template["next_timer_at"]
                rows.append(row)
            ids = conn.execute(insert(_CASES).returning(_CASES.c.id), rows).scalars().all()
            created += ids
            conn.execute(insert(_TASKS), [{**{k: v for k, v in t.items() if k != "id"}, "case_id": cid}
                                          for cid in ids for t in tasks])
        session.commit()
    # A live database has statistics for its tables; right after this bulk insert PostgreSQL
    # has none and reads a case's open tasks through the inbox index (a scan of all of them).
    analyze(sessions)
    return created


def _sweep_in_processes(workers: int, database_url: str) -> int:
    """Run ``gridflow worker --once`` in several processes at once; return the cases they fired."""
    env = {**os.environ, "GRIDFLOW_DATABASE_URL": database_url}
    # Output goes to files, not pipes: a pipe read only after the first worker ends would
    # fill up and stall the others.
    logs = [tempfile.TemporaryFile("w+", encoding="utf-8") for _ in range(workers)]
    procs = [subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--once"], env=env, cwd=PROJECT_ROOT,
                              stdout=log, stderr=subprocess.STDOUT, text=True)
             for log in logs]
    fired = 0
    for proc, log in zip(procs, logs):
        proc.wait()
        log.seek(0)
        output = log.read()
        log.close()
        if proc.returncode != 0:
            raise RuntimeError(f"a worker failed:\n{output}")
        fired += int(output.rsplit("fired ", 1)[1].split()[0])
    return fired


def run_timers(rt: Runtime, sessions: sessionmaker, n: int, echo: Callable[[str], None] = print,
               spread_seconds: float = 0, keep: bool = False, workers: int = 1) -> dict:
    """Sweep N due cases; report timers fired per second (and lateness when spread over time).

    With ``workers`` > 1 the sweep runs in that many `gridflow worker` processes at once.
    """
    created = prepare_due_cases(rt, sessions, n, spread_seconds=spread_seconds)
    with sessions() as session:
        first_event = session.scalar(select(func.max(CaseEvent.id))) or 0
    started = time.perf_counter()
    lateness: list[float] = []
    fired = 0
    interval = float(rt.settings.get("SWEEP_INTERVAL", 1.0))
    if workers > 1:
        fired = _sweep_in_processes(workers, sessions.kw["bind"].url.render_as_string(hide_password=False))
    while workers <= 1:
        tick = time.perf_counter()
        result = drain(sessions, rt)
        fired += result.fired
        lateness += result.lateness
        with sessions() as session:
            remaining = session.scalar(select(func.count()).select_from(Case)
                                       .where(Case.next_timer_at <= rt.clock(), Case.code.like("BT%"),
                                              Case.incident.is_(None)))
        # Fired cases stay armed (escalation cycles), so "done" is: nothing due now and, with
        # --spread, the last case's due time has passed.
        caught_up = not remaining and time.perf_counter() - started >= spread_seconds
        if caught_up or time.perf_counter() - started > max(600, spread_seconds * 3):
            break
        if spread_seconds:  # what the scheduler does: the next pass one interval after this one began
            time.sleep(max(0.0, interval - (time.perf_counter() - tick)))
    elapsed = time.perf_counter() - started
    with sessions() as session:
        # Each sweep step's audit event lists the timers that fired in it (a warning timer that
        # fires after the due time has passed fires, but its path says nothing).
        timer_events = sum(len((data or {}).get("timers", ())) for data in session.scalars(
            select(CaseEvent.data).where(CaseEvent.id > first_event, CaseEvent.kind == "timer")))
        effect_events = session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.id > first_event, CaseEvent.kind.in_(("warning", "overdue", "escalated"))))
    lateness.sort()
    if not keep:
        delete_cases(sessions, created)
    figures = {
        "due_cases": n, "database": sessions.kw["bind"].dialect.name, "workers": workers, "cases_fired": fired,
        "timers_fired": timer_events, "effects_recorded": effect_events, "seconds": round(elapsed, 2),
        "timers_per_second": round(timer_events / elapsed, 1), "cases_per_second": round(fired / elapsed, 1),
    }
    if spread_seconds and lateness:
        figures["lateness_p50_s"] = round(statistics.median(lateness), 3)
        figures["lateness_p99_s"] = round(lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))], 3)
    echo(f"{fired} due cases swept on {figures['database']} in {figures['seconds']} s: "
         f"{figures['timers_per_second']} timers/s ({figures['cases_per_second']} cases/s)"
         + (f", lateness p99 {figures['lateness_p99_s']} s" if "lateness_p99_s" in figures else ""))
    return figures
