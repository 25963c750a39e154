"""`gridflow bench assessment`: hold N cases' assessment facts (a year of them, generated straight
into grid_case and assessment_fact, since driving a million cases through the engine would take
days) and time one month's figures by every grouping and a year's ranking.

The generated facts follow what the fact writer records for the main path and its exceptions:
received and filed, dispatched, signed, handled, verified, rated, closed, the case due to close at
its handling deadline, and for some cases a cancellation, a return, an extension, a rework or a
late task attributed to its holder. Generated cases have codes starting BA and are kept, so a
later run reuses them.
"""
from __future__ import annotations

import random
import statistics
import time
from datetime import date, datetime, timedelta
from typing import Callable

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import sessionmaker

from models import AssessmentFact, AssessmentTally, Case, Category, Department, Membership, OrgUnit, User

from bench.common import ensure_demo
from engine.assessment import figures
from engine.assessment.facts import place_of
from engine.assessment.periods import Period
from engine.assessment.tally import Deltas
from engine.process.assessment import GROUPINGS
from engine.process.deploy import latest_version
from engine.runtime import Runtime

PREFIX = "BA"
BATCH = 20_000
VIEWER = "admin"
SOURCES = ("patrol", "patrol", "patrol", "hotline", "hotline", "app", "web", "open311")


def ensure_facts(rt: Runtime, sessions: sessionmaker, n: int, year: int, seed: int = 7,
                 echo: Callable[[str], None] = print) -> int:
    """Make sure ``n`` benchmark cases with their facts exist, spread over ``year``; return the count."""
    ensure_demo(rt, sessions)
    with sessions() as session:
        have = session.scalar(select(func.count()).select_from(Case).where(Case.code.like(f"{PREFIX}%"))) or 0
        if have >= n:
            return have
        echo(f"{have} benchmark cases; generating {n - have} more with their facts")
        world = _World(session, rt, random.Random(seed + have), year)
        started = time.perf_counter()
        made = have
        while made < n:
            count = min(BATCH, n - made)
            drawn = [world.case(made + i) for i in range(count)]
            session.execute(insert(Case.__table__), [c for c, _ in drawn])
            ids = dict(session.execute(select(Case.code, Case.id).where(
                Case.code >= drawn[0][0]["code"], Case.code <= drawn[-1][0]["code"])).all())
            facts = [row for c, category in drawn for row in world.facts(ids[c["code"]], c, category)]
            session.execute(insert(AssessmentFact.__table__), facts)
            tallies = Deltas(rt.calendar.tz)     # what the step writer adds up with each fact
            for row in facts:
                tallies.add(row)
            tallies.apply(session.connection())
            session.commit()
            made += count
            if made % 100_000 < BATCH:
                echo(f"  {made} cases ({time.perf_counter() - started:.0f} s)")
    _analyze(sessions)
    return made


def _analyze(sessions: sessionmaker) -> None:
    engine = sessions.kw["bind"]
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) assessment_fact, assessment_tally, grid_case"))
        return
    with sessions() as session:
        session.execute(text("ANALYZE"))
        session.commit()


class _World:
    """The demo city's grids, categories, departments and people a generated case is drawn from."""

    def __init__(self, session, rt: Runtime, rnd: random.Random, year: int):
        self.rnd = rnd
        self.tz = rt.calendar.tz
        self.start = datetime(year, 1, 1, tzinfo=self.tz)
        self.seconds = (datetime(year + 1, 1, 1, tzinfo=self.tz) - self.start).total_seconds()
        self.grids = list(session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.level == "grid")))
        self.categories = list(session.execute(select(Category.id, Category.code, Category.default_department)))
        self.departments = list(session.scalars(select(Department.code))) or ["HW"]
        people = session.execute(select(User.username, Membership.role).join(Membership, Membership.user_id == User.id))
        self.people: dict[str, list[str]] = {}
        for username, role in people:
            self.people.setdefault(role, []).append(username)
        self.version_id = latest_version(session, rt.settings["CASE_PROCESS"]).id

    def pick(self, role: str) -> str | None:
        names = self.people.get(role)
        return self.rnd.choice(names) if names else None

    def case(self, index: int) -> tuple[dict, str]:
        grid_id, path = self.rnd.choice(self.grids)
        category_id, code, department = self.rnd.choice(self.categories)
        created = self.start + timedelta(seconds=self.rnd.random() * self.seconds)
        return {"code": f"{PREFIX}{index:011d}", "category_id": category_id, "grid_id": grid_id, "scope_path": path,
                "address": "", "description": "", "source": self.rnd.choice(SOURCES), "urgency": "normal",
                "reporter_name": "", "reporter_phone": "", "self_handled": False, "status": "closed",
                "stage": "closed", "department_code": department or self.rnd.choice(self.departments),
                "due_times": {}, "at_risk": False, "overdue": False, "escalation_level": 0,
                "calendar_estimated": False, "process_version_id": self.version_id, "state": b"", "version": 1,
                "created_at": created, "updated_at": created}, code

    def facts(self, case_id: int, case: dict, code: str) -> list[dict]:
        rnd, at = self.rnd, case["created_at"]
        street, community, grid = place_of(case["scope_path"])
        department = case["department_code"]
        base = {"case_id": case_id, "scope_path": case["scope_path"], "street": street, "community": community,
                "grid": grid, "department": None, "category": code, "major": code[:3], "source": case["source"],
                "owner": None, "task_bpmn_id": None, "detail": None}

        def fact(kind, when, person=None, value=1.0, **extra):
            return dict(base, kind=kind, at=when, person=person, value=value, **extra)

        rows = [fact("received", at, self.pick("grid_worker") if case["source"] == "patrol" else None)]
        if case["source"] != "patrol":
            rows.append(fact("resident_reported", at, value=None))
        at += timedelta(minutes=rnd.randint(5, 90))
        clerk = self.pick("acceptance_clerk")
        if rnd.random() < 0.05:
            rows.append(fact("cancelled", at, clerk, detail="invalid"))
            return rows
        rows += [fact("filed", at, clerk, float(rnd.random() < 0.95)), fact("report_filed", at, rows[0]["person"])]
        base["department"] = department
        at += timedelta(minutes=rnd.randint(5, 60))
        rows.append(fact("dispatched", at, self.pick("dispatcher"), float(rnd.random() < 0.95)))
        if rnd.random() < 0.04:
            rows.append(fact("returned", at + timedelta(minutes=20), self.pick("department_handler")))
        at += timedelta(minutes=rnd.randint(5, 60))
        handler = self.pick("department_handler")
        rows.append(fact("signed", at, handler, float(rnd.random() < 0.9)))
        due = at + timedelta(hours=rnd.choice((4, 8, 24, 72)))
        if rnd.random() < 0.03:
            rows.append(fact("extended", at + timedelta(hours=1), self.pick("shift_leader")))
            due += timedelta(hours=24)
        done = at + timedelta(hours=rnd.uniform(1, 1.25) * (due - at).total_seconds() / 3600)
        on_time = done <= due
        rows.append(fact("handled", done, handler, float(on_time)))
        if not on_time:
            rows.append(fact("late", done, handler, round((done - due).total_seconds() / 3600, 2),
                             owner="department", task_bpmn_id="handle"))
        if rnd.random() < 0.05:
            rows.append(fact("reworked", done + timedelta(hours=2), self.pick("grid_worker")))
        verified = done + timedelta(hours=rnd.uniform(0.5, 3))
        rows.append(fact("verified", verified, self.pick("grid_worker"), float(rnd.random() < 0.9)))
        if case["source"] != "patrol":
            rows.append(fact("rated", verified, clerk, rnd.choice((1.0, 1.0, 1.0, 0.9, 0.0)), detail="satisfied"))
        closed = verified + timedelta(hours=rnd.uniform(0.2, 2))
        rows.append(fact("closed", closed, self.pick("shift_leader")))
        rows.append(fact("due_to_close", due, None, float(on_time)))
        return rows


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def time_assessment(rt: Runtime, sessions: sessionmaker, year: int, repeat: int,
                    echo: Callable[[str], None] = print) -> dict:
    """Median ms of one month (June) by every grouping, and of the year's ranking by street,
    department and person, as the admin (who sees the whole city)."""
    out: dict = {}
    month, whole = Period.month(year, 6), Period(date(year, 1, 1), date(year, 12, 31))
    with sessions() as session:
        user = session.scalars(select(User).where(User.username == VIEWER)).one()
        _ = user.memberships
        for by in GROUPINGS:
            ms = _median_ms(lambda: figures.assessment(session, rt, user, month, by), repeat)
            out[f"month_by_{by}_ms"] = ms
            echo(f"one month by {by}: {ms} ms")
        for by in ("street", "department", "person"):
            ms = _median_ms(lambda: figures.assessment(session, rt, user, whole, by), repeat)
            out[f"year_ranking_by_{by}_ms"] = ms
            echo(f"a year's ranking by {by}: {ms} ms")
        out["page_dashboard_ms"] = _median_ms(lambda: figures.dashboard(session, rt, user, month, "street"), repeat)
        echo(f"the page's figures (a month compared with the one before, and a year's trend): {out['page_dashboard_ms']} ms")
        report = figures.assessment(session, rt, user, month, "street")
        out["month_received"] = report.total.values["received"]
        out["month_closing_rate"] = report.total.values["closing_rate"]
        out["facts"] = session.scalar(select(func.count()).select_from(AssessmentFact))
        out["tally_rows"] = session.scalar(select(func.count()).select_from(AssessmentTally))
    out["month_max_ms"] = max(v for k, v in out.items() if k.startswith("month_by_"))
    out["year_max_ms"] = max(v for k, v in out.items() if k.startswith("year_ranking_"))
    return out
