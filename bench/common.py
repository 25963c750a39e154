"""`gridflow bench lifecycle`: drive cases through the main path and print figures."""
from __future__ import annotations

import statistics
import time
from typing import Callable

from sqlalchemy import Text, bindparam, delete, func, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from models import (Attachment, Case, Comment, CaseEvent, Category, Membership, Notification, OrgUnit, Task, User, WebhookDelivery,
                    create_schema)

from engine.lifecycle import cases as case_service
from engine.process import deploy as process_service
from demo.loader import load_demo_city
from engine.access.org import scope_covers
from engine.runtime import Runtime

# The answer each user task of the main path gets: file, dispatch, sign, handle, report, verify, close.
MAIN_PATH_ANSWERS = {
    "accept": {"decision": "file", "accept_note": "属实，立案"},
    "dispatch": {"level": "department"},
    "sign_for": {"sign_decision": "sign"},
    "handle": {"action": "done"},
    "feedback": {"result": "已清理完毕，现场恢复整洁", "photos": "att:after-1.jpg"},
    "callback": {"satisfaction": "satisfied"},
    "verify": {"verify_result": "pass", "photos_after": "att:verify-1.jpg"},
    "close": {"close_note": "核查通过，结案"},
    "rate_unit": {"unit_rating": "satisfied"},
}


def ensure_demo(rt: Runtime, sessions: sessionmaker) -> None:
    """Create schema, demo city and the deployed process when the database is empty."""
    engine = sessions.kw["bind"]
    if not inspect(engine).get_table_names():
        create_schema(engine)
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(OrgUnit)) == 0:
            load_demo_city(session, rt.settings["GRID_CODE_LENGTH"])
        files = process_service.read_files([rt.settings["PROCESSES_DIR"]])
        process_service.deploy(session, rt, files, rt.settings["CASE_PROCESS"])
        session.commit()


class Actors:
    """Find, once per role and scope, a user who may take a task."""

    def __init__(self, session: Session):
        self.session = session
        # Holding the User objects keeps them in the session (its identity map is weak).
        self._cache: dict[tuple[str, str], User] = {}

    def for_task(self, role: str, scope: str) -> User:
        key = (role, scope)
        if key not in self._cache:
            rows = self.session.execute(select(Membership.user_id, Membership.scope_key)
                                        .where(Membership.role == role)).all()
            matches = [uid for uid, s in rows if scope_covers(s, scope)]
            if not matches:
                raise LookupError(f"no user holds role {role} for scope {scope}")
            self._cache[key] = self.session.get(User, matches[0])
        return self._cache[key]


_NEXT_TASK = (select(Task.id, Task.bpmn_id, Task.role, Task.scope_key)
              .where(Task.case_id == bindparam("case_id"), Task.status == "open").order_by(Task.id).limit(1))


def drive_main_path(session: Session, rt: Runtime, case: Case, actors: Actors,
                    answers: dict[str, dict] = MAIN_PATH_ANSWERS, commit: Callable[[], None] | None = None,
                    max_steps: int = 30) -> list[str]:
    """Complete the case's open tasks with ``answers`` until it ends; return the task ids done."""
    done = []
    for _ in range(max_steps):
        # What a client asks between steps: the case's next open task (id, form, who).
        task = session.execute(_NEXT_TASK, {"case_id": case.id}).first()
        if task is None:
            return done
        payload = dict(answers[task.bpmn_id])
        if task.bpmn_id == "dispatch" and payload.get("level") == "department":
            payload.setdefault("department_code", case.category.default_department)
        case_service.complete_task(session, rt, actors.for_task(task.role, task.scope_key), task.id, payload)
        (commit or session.commit)()
        done.append(task.bpmn_id)
    raise RuntimeError(f"case {case.code} did not end within {max_steps} steps")


def delete_cases(sessions: sessionmaker, ids: list[int]) -> None:
    """Remove benchmark cases with their tasks, events and notifications."""
    with sessions() as session:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for table in (Notification, WebhookDelivery, CaseEvent, Attachment, Comment, Task):
                session.execute(delete(table).where(table.case_id.in_(chunk)))
            session.execute(update(Case).where(Case.duplicate_of_id.in_(chunk)).values(duplicate_of_id=None))
            session.execute(delete(Case).where(Case.id.in_(chunk)))
        session.commit()


def run_lifecycle(rt: Runtime, sessions: sessionmaker, n: int, echo: Callable[[str], None] = print,
                  keep: bool = False) -> dict:
    ensure_demo(rt, sessions)
    with sessions() as session:
        grids = session.scalars(select(OrgUnit).where(OrgUnit.level == "grid").order_by(OrgUnit.code)).all()
        categories = session.scalars(select(Category).where(Category.emergency.is_(False))
                                     .order_by(Category.code)).all()
        grid_paths = [(g.code, g.path) for g in grids]
        category_codes = [c.code for c in categories]
    timings, sizes, codes = [], [], []
    started = time.perf_counter()
    with sessions() as session:
        actors = Actors(session)
        reporter_cache: dict[str, User] = {}
        for i in range(n):
            grid_code, grid_path = grid_paths[i % len(grid_paths)]
            t0 = time.perf_counter()
            if grid_code not in reporter_cache:
                reporter_cache[grid_code] = actors.for_task("acceptance_clerk", grid_path)
            case = case_service.report_case(session, rt, reporter_cache[grid_code], {
                "category_code": category_codes[i % len(category_codes)], "grid_code": grid_code,
                "address": f"东城区测试路{i}号", "description": "市民来电反映路边有暴露垃圾", "source": "hotline",
                "reporter_name": "王先生", "reporter_phone": "13800000000"})
            session.commit()
            drive_main_path(session, rt, case, actors)
            timings.append((time.perf_counter() - t0) * 1000)
            if case.status != "closed":
                raise RuntimeError(f"case {case.code} ended {case.status}, not closed")
            sizes.append(len(case.state))
            codes.append(case.id)
    elapsed = time.perf_counter() - started
    with sessions() as session:
        event_bytes = session.scalar(select(func.sum(func.length(func.cast(CaseEvent.data, Text()))))
                                     .where(CaseEvent.case_id.in_(codes[-200:]))) or 0
    result = {
        "cases": n,
        "database": sessions.kw["bind"].dialect.name,
        "median_ms_per_case": round(statistics.median(timings), 2),
        "p95_ms_per_case": round(sorted(timings)[max(0, int(len(timings) * 0.95) - 1)], 2),
        "cases_per_second": round(n / elapsed, 1),
        "state_bytes_per_closed_case": round(statistics.mean(sizes)),
        "audit_bytes_per_closed_case": round(event_bytes / min(len(codes), 200)),
    }
    if not keep:
        delete_cases(sessions, codes)
    echo(f"{n} cases through the main path on {result['database']}: median {result['median_ms_per_case']} ms/case, "
         f"{result['cases_per_second']} cases/s, {result['state_bytes_per_closed_case']} B state per closed case")
    return result
