"""Keep a simulation's findings per case, so that every figure of its page opens the cases behind
it; read them back by figure. Only the newest SIMULATION_KEEP_RUNS runs are kept."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from models import Case, Category, Department, SimulationCase, SimulationRun

from engine.errors import InputError, Message, NotFound
from engine.lifecycle.simulation import Simulation, later as _later
from engine.runtime import Runtime

CLOSINGS = ("on_time_to_late", "late_to_on_time")
FLOWS = ("same", "other_path", "stops", "not_replayed")
BATCH = 5000


def store(session: Session, rt: Runtime, result: Simulation, by: str, draft_id: int | None = None) -> SimulationRun:
    """Keep a simulation and what it found for each case; drop the oldest runs beyond the limit."""
    from engine.process.deploy import latest_version

    version = latest_version(session, result.key)
    run = SimulationRun(key=result.key, draft_id=draft_id, version_id=version.id, days=result.days,
                        since=result.since, until=result.until, made_by=by, made_at=rt.clock(),
                        summary=result.summary())
    session.add(run)
    session.flush()
    rows = [{"run_id": run.id, "case_id": c.case_id, "dispatched": c.dispatched, "route_from": c.route_from,
             "route_to": c.route_to, "decisions": "," + ",".join(c.decisions) + "," if c.decisions else "",
             "flow": c.flow, "flow_element": c.flow_element, "flow_detail": c.flow_detail or None,
             "deadlines": [list(d) for d in c.deadlines] or None,
             "deadline_marks": "," + ",".join(sorted({f"{t}:{'later' if _later(o, n) else 'earlier'}"
                                                      for t, _, o, n in c.deadlines})) + "," if c.deadlines else "",
             "closing": c.closing} for c in result.cases]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(SimulationCase.__table__), rows[start:start + BATCH])
    keep = int(rt.settings.get("SIMULATION_KEEP_RUNS", 20))
    old = list(session.scalars(select(SimulationRun.id).order_by(SimulationRun.made_at.desc(), SimulationRun.id.desc())
                               .offset(max(keep, 1))))
    if old:
        session.execute(delete(SimulationCase).where(SimulationCase.run_id.in_(old)))
        session.execute(delete(SimulationRun).where(SimulationRun.id.in_(old)))
    return run


def get_run(session: Session, run_id: int) -> SimulationRun:
    run = session.get(SimulationRun, run_id)
    if run is None:
        raise NotFound(Message("simulation {id} does not exist (only the newest are kept)", id=run_id))
    return run


def runs_of_draft(session: Session, draft_id: int, limit: int = 5) -> list[SimulationRun]:
    return list(session.scalars(select(SimulationRun).where(SimulationRun.draft_id == draft_id)
                                .order_by(SimulationRun.made_at.desc(), SimulationRun.id.desc()).limit(limit)))


@dataclass(frozen=True)
class Figure:
    """Which cases a figure of the page counts, read from the link's arguments."""

    route: tuple[str, str] | None = None   # dispatched from → to
    moved: bool = False                     # dispatched, and the draft routes it elsewhere
    replayed: bool = False                  # its own version reproduced its history
    dispatched: bool | None = None
    decision: str | None = None
    flow: str | None = None
    at: str | None = None                   # with flow: where
    deadline: tuple[str, str] | None = None  # task, "later" / "earlier"; ("", "any"): any that moves
    closing: str | None = None


def figure(args: dict[str, str]) -> Figure:
    """Read a figure's link arguments; InputError naming the argument and the rule."""
    errors: dict[str, list] = {}
    route = None
    if args.get("route"):
        a, sep, b = args["route"].partition(">")
        if sep:
            route = (a, b)
        else:
            errors["route"] = [Message("write from>to")]
    dispatched = {"yes": True, "no": False, None: None, "": None}.get(args.get("dispatched"), "bad")
    if dispatched == "bad":
        errors["dispatched"] = [Message("Must be one of: {choices}.", choices="yes, no")]
        dispatched = None
    flow = args.get("flow") or None
    if flow is not None and flow not in FLOWS:
        errors["flow"] = [Message("Must be one of: {choices}.", choices=", ".join(FLOWS))]
    deadline = None
    if args.get("deadline"):
        task, _, way = args["deadline"].rpartition(":")
        if way not in ("later", "earlier", "any"):
            errors["deadline"] = [Message("write task:later, task:earlier or :any")]
        deadline = (task, way)
    closing = args.get("closing") or None
    if closing is not None and closing not in CLOSINGS:
        errors["closing"] = [Message("Must be one of: {choices}.", choices=", ".join(CLOSINGS))]
    if errors:
        raise InputError(errors)
    return Figure(route, args.get("moved") == "yes", args.get("replayed") == "yes", dispatched, args.get("decision") or None, flow,
                  args.get("at") if "at" in args else None, deadline, closing)


@dataclass(frozen=True)
class FigureCase:
    code: str
    status: str
    stage: str
    category: str
    found: SimulationCase


def figure_cases(session: Session, run_id: int, wanted: Figure, offset: int = 0,
                 limit: int = 100) -> tuple[int, list[FigureCase]]:
    """How many cases a figure counts and a page of them (newest first)."""
    get_run(session, run_id)
    sc = SimulationCase
    where = [sc.run_id == run_id]
    if wanted.route is not None:
        where += [sc.dispatched.is_(True), sc.route_from == wanted.route[0], sc.route_to == wanted.route[1]]
    if wanted.moved:
        where += [sc.dispatched.is_(True), func.coalesce(sc.route_from, "") != func.coalesce(sc.route_to, "")]
    if wanted.replayed:
        where.append(sc.flow != "not_replayed")
    if wanted.dispatched is not None:
        where.append(sc.dispatched.is_(wanted.dispatched))
    if wanted.decision:
        where.append(sc.decisions.contains(f",{wanted.decision},", autoescape=True))
    if wanted.flow:
        where.append(sc.flow == wanted.flow)
        if wanted.at is not None:
            where.append(sc.flow_element == wanted.at if wanted.at else sc.flow_element.is_(None))
    if wanted.deadline:
        task, way = wanted.deadline
        where.append(sc.deadline_marks != "" if way == "any" else sc.deadline_marks.contains(f",{task}:{way},",
                                                                                             autoescape=True))
    if wanted.closing:
        where.append(sc.closing == wanted.closing)
    total = session.scalar(select(func.count()).select_from(sc).where(*where))
    rows = session.execute(
        select(Case.code, Case.status, Case.stage, Category.code, sc).join(Case, Case.id == sc.case_id)
        .join(Category, Category.id == Case.category_id).where(*where)
        .order_by(sc.case_id.desc()).offset(max(offset, 0)).limit(min(max(limit, 1), 500))).all()
    return total, [FigureCase(*row) for row in rows]


def department_names(session: Session) -> dict[str, tuple[str, str]]:
    """Department code → (Chinese name, English name), for the routing table."""
    return {code: (name, name_en or name) for code, name, name_en in
            session.execute(select(Department.code, Department.name, Department.name_en))}


def run_json(run: SimulationRun) -> dict[str, Any]:
    return {"id": run.id, "key": run.key, "draft": run.draft_id, "days": run.days, "since": run.since.isoformat(),
            "until": run.until.isoformat(), "made_by": run.made_by, "made_at": run.made_at.isoformat(),
            **run.summary}
