"""`gridflow bench simulate`: hold N generated cases within the last D days, make a draft of the
current version with a changed routing rule (私搭乱建 to 环卫 instead of 城管) and a shorter time
limit (暴露垃圾 handled in 2 working hours instead of 4), and time the simulation of the period."""
from __future__ import annotations

import os
import re
import time
from datetime import timedelta
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from models import Case

from bench.common import ensure_demo
from demo.generate import analyze, generate_cases
from engine.lifecycle.simulation import simulate
from engine.process.deploy import latest_version
from engine.process.versions import version_files
from engine.runtime import Runtime

ROUTING_CHANGE = ('"CG"', '"HW"')  # the first rule naming 城管: 私搭乱建 goes to 环卫
SLA_RULE = "sla_E0102_normal_out4"  # 暴露垃圾, normal urgency: handling hours


def draft_files(files: dict[str, str]) -> dict[str, str]:
    """The benchmark's draft: one routing rule and one time limit changed."""
    changed = dict(files)
    changed["routing.dmn"] = files["routing.dmn"].replace(*ROUTING_CHANGE, 1)
    changed["sla.dmn"] = re.sub(rf'(<outputEntry id="{SLA_RULE}">\s*<text>)4(</text>)', r"\g<1>2\2", files["sla.dmn"])
    if changed["routing.dmn"] == files["routing.dmn"] or changed["sla.dmn"] == files["sla.dmn"]:
        raise RuntimeError("the benchmark's routing rule or time limit is not in the deployed version")
    return changed


def run_simulate(rt: Runtime, sessions: sessionmaker, n: int, days: int,
                 echo: Callable[[str], None] = print) -> dict:
    ensure_demo(rt, sessions)
    since = rt.clock() - timedelta(days=days)
    with sessions() as session:
        have = session.scalar(select(func.count()).select_from(Case).where(Case.created_at >= since)) or 0
    if have < n:
        echo(f"{have} cases reported in the last {days} days; generating {n - have} more")
        made = generate_cases(sessions, rt, n - have, echo=echo, window_days=days)
        echo(f"generated {made.cases} cases in {made.seconds} s")
    analyze(sessions)
    key = rt.settings["CASE_PROCESS"]
    with sessions() as session:
        files = draft_files(version_files(session, key, latest_version(session, key).version))
        started, cpu = time.perf_counter(), time.process_time()
        result = simulate(session, rt, files, days)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        session.rollback()
    summary = result.summary()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    figures = {"cases": summary["cases"], "cases_replayed": summary["cases_replayed"],
               "department_changes": summary["department_changes"], "deadline_changes": summary["deadline_changes"],
               "on_time_to_late": summary["on_time_to_late"], "not_replayed": summary["not_replayed"],
               "replays": result.groups, "days": days, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
               "ms_per_case": round(seconds * 1000 / max(summary["cases"], 1), 3), "phases": result.phases,
               "load_average": round(load, 2) if load is not None else None,
               "database": sessions.kw["bind"].dialect.name}
    echo(f"simulated {figures['cases']} cases of {days} days in {figures['seconds']} s "
         f"({figures['ms_per_case']} ms/case, {result.groups} replays, load {figures['load_average']}): "
         f"{figures['department_changes']} change department, {figures['deadline_changes']} deadlines move")
    return figures
