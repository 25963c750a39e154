"""Run designers' scenarios through the real engine on a throwaway copy of a city.

The city (the folder SCENARIO_CITY, read by the city importer) and the processes under test are
put into an in-memory SQLite database once per run; each scenario then gets its own copy of it
(SQLite's backup, about a millisecond), so scenarios never see each other's cases. The report,
the tasks and the reporter's messages go through the services the pages use (report_case,
complete_task, the reporter's link), and timers through the sweep; time is the engine's clock,
held for this thread only (engine/clock.py) and moved on by the steps, timer by timer as the
sweep would see it run every second, never by sleeping.
"""
from __future__ import annotations

import logging
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from models import Case, CaseEvent, Notification, OrgUnit, User, create_schema, make_engine, make_session_factory

from engine import clock
from engine.access.members import members
from engine.assembly import make_runtime
from engine.access.initial import InitialCodes
from engine.city import CityError, import_city
from engine.errors import EngineError, StepFailed
from engine.lifecycle import cases as case_service
from engine.lifecycle.sweep import sweep
from engine.lifecycle.tasks import task_details
from engine.process import deploy as deploying
from engine.process.policy import POLICY_FILES
from engine.process.scenarios import Report, Scenario, Step, diagram_elements, read_scenarios, scenario_files
from engine.public import tracking
from engine.runtime import Runtime
from engine.scenarios.expect import Mismatch, Seen, compare, local_time, offset
from engine.scenarios.outcome import Outcome, ScenarioFailed
from engine.spiff import ProcessError

log = logging.getLogger("gridflow.scenarios")

# The step's own record; ``expect.events`` lists what it wrote besides.
_OWN_RECORD = ("reported", "task_completed", "message", "timer")
_MAX_FIRINGS = 5000   # timer firings in one wait: far more than any ladder; a loop stops here


class ScenarioRunner:
    """The processes under test deployed on a copy of the city, ready to run their scenarios.

    Build it once per run (the city is imported once), run any of its scenarios, then close it.
    """

    def __init__(self, settings: dict, files: dict[str, str], city: Path | str | None = None):
        self.key = settings["CASE_PROCESS"]
        self.city = Path(city or settings["SCENARIO_CITY"])
        self.problems: list[str] = []
        self.scenarios: list[Scenario] = []
        self._folder = tempfile.TemporaryDirectory(prefix="gridflow-scenarios-")
        folder = Path(self._folder.name)
        # A version or draft without policy files follows the processes folder, as a deploy does.
        files = {**{n: (Path(settings["PROCESSES_DIR"]) / n).read_text(encoding="utf-8")
                    for n in POLICY_FILES if n not in files and (Path(settings["PROCESSES_DIR"]) / n).is_file()},
                 **files}
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
        self.files = files
        self.settings = {**settings, "PROCESSES_DIR": str(folder), "DATABASE_URL": "sqlite://", "WEBHOOKS": [],
                         "INSTANCE_DIR": str(folder), "ATTACHMENTS_DIR": str(folder / "attachments")}
        self.rt: Runtime = make_runtime(self.settings)
        self.flows = diagram_elements(files).get(self.key)
        self._pairs: dict[tuple[str, str], list[str]] = {}
        for flow, pair in (self.flows.flows if self.flows else {}).items():
            self._pairs.setdefault(pair, []).append(flow)
        self._template = self._build()

    # -- the database every scenario starts from -------------------------------------------------
    def _build(self) -> sqlite3.Connection | None:
        try:
            bundles = self.rt.workflows.parse(deploying.diagrams(self.files))
        except ProcessError as exc:
            self.problems.append(str(exc))
            return None
        self.scenarios, problems = read_scenarios(self.files, bundles, deploying.policy_for(self.rt, self.files),
                                                  self.key)
        self.problems += problems
        if not scenario_files(self.files):
            self.problems.append("no scenario files (scenarios/*.toml) among the processes")
        template = sqlite3.connect(":memory:", check_same_thread=False)
        sessions = _sessions(template)
        with sessions() as session:
            try:
                # A throwaway city: nobody signs in, so its users get codes nobody sees.
                import_city(session, self.city, grid_code_length=self.settings["GRID_CODE_LENGTH"], processes_dir=None,
                            codes=InitialCodes.from_settings(self.settings, self.rt.clock()))
                # Without the scenario files: their problems are reported above, and a refused file
                # must not keep the other files' scenarios from running.
                rules = {n: t for n, t in self.files.items() if n not in scenario_files(self.files)}
                deploying.deploy(session, self.rt, rules, self.key, deployed_by="scenarios")
            except CityError as exc:
                self.problems.append(f"the city {self.city} does not import: {exc}")
                return None
            except ProcessError as exc:
                self.problems.append(str(exc))
                return None
            session.commit()
        return template

    @property
    def ready(self) -> bool:
        return self._template is not None

    def close(self) -> None:
        if self._template is not None:
            self._template.close()
        self._folder.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- one scenario ----------------------------------------------------------------------------
    def run(self, scenario: Scenario) -> Outcome:
        """Run one scenario on a fresh copy of the city; stop at its first failing step."""
        started = time.perf_counter()
        outcome = Outcome(scenario)
        if self._template is None:
            outcome.failure = "the processes could not be deployed: " + "; ".join(self.problems)
            return outcome
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        self._template.backup(connection)
        sessions = _sessions(connection)
        start = local_time(self.rt.calendar, scenario.start)
        self.rt.forget_workflows()  # case ids repeat from one copy to the next
        try:
            with clock.held(start) as held, sessions() as session:
                _Run(self, scenario, session, sessions, held, outcome).play()
        except ScenarioFailed as failed:
            outcome.failure, outcome.element = failed.text, failed.element
            outcome.step = failed.step.number if failed.step else 0
            outcome.label = failed.step.label_as(failed.actor) if failed.step else "report"
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not end the run (or a page)
            log.exception("scenario %s stopped", scenario.id)
            outcome.failure = f"the run stopped: {type(exc).__name__}: {exc}"
        finally:
            connection.close()
            outcome.seconds = time.perf_counter() - started
        return outcome

    def flows_of(self, done: set[str], steps: set[tuple[str, str]]) -> set[str]:
        """The sequence flows (and elements) a case's path shows."""
        return done | {flow for pair in steps for flow in self._pairs.get(pair, ())}


def _sessions(connection: sqlite3.Connection) -> sessionmaker:
    engine = make_engine("sqlite://", creator=lambda: connection, poolclass=StaticPool)
    create_schema(engine)  # no-op on a copy; the template's schema
    return make_session_factory(engine)


class _Run:
    """One scenario being played: its cases, the held clock, what each step wrote."""

    def __init__(self, runner: ScenarioRunner, scenario: Scenario, session: Session, sessions: sessionmaker,
                 held: clock.HeldClock, outcome: Outcome):
        self.runner, self.rt, self.scenario = runner, runner.rt, scenario
        self.session, self.sessions, self.held, self.outcome = session, sessions, held, outcome
        self.cases: dict[str | None, Case] = {}
        self.secrets: dict[int, str] = {}
        self.taken: dict[int, set[str]] = {}   # case id → the elements and flows it has passed
        self.actor: str | None = None          # who does the step's task

    def play(self) -> None:
        for name, report in self.scenario.others.items():
            self.cases[name] = self.report(report, None)
        self.cases[None] = self.report(self.scenario.report, None)
        self.check(None, None, self.scenario.report.expect, *self.marks_before(start=True))
        for step in self.scenario.steps:
            marks = self.marks_before()
            self.actor = None
            try:
                self.do(step)
                self.check(step, step.case, step.expect, *marks)
            except ScenarioFailed as failed:
                failed.actor = self.actor
                raise

    # -- actions ---------------------------------------------------------------------------------
    def report(self, report: Report, step: Step | None) -> Case:
        grid = self.session.scalars(select(OrgUnit).where(OrgUnit.code == report.fields.get("grid_code"))).first()
        actor = self.person(step, report.by, report.role, grid.path if grid else "", None) \
            if (report.by or report.role) else None
        try:
            case = case_service.report_case(self.session, self.rt, actor, dict(report.fields))
        except EngineError as exc:
            self.session.rollback()
            raise ScenarioFailed(step, f"the report was refused: {_refusal(exc)}") from None
        self.session.commit()
        if case.tracking_secret:
            self.secrets[case.id] = case.tracking_secret
        self.trace(case)
        return case

    def do(self, step: Step) -> None:
        case = self.cases[step.case]
        if step.action in ("wait", "until", "past"):
            self.advance(step, self.target_time(step, case))
            return
        try:
            if step.action == "task":
                self.complete(step, case)
            else:
                self.reporter(step, case)
        except (EngineError, StepFailed) as exc:
            self.session.rollback()
            if step.refused is None or step.refused is False:
                raise ScenarioFailed(step, f"refused: {_refusal(exc)}",
                                     getattr(exc, "element", None) or (step.target if step.action == "task" else None)) from None
            if isinstance(step.refused, str) and step.refused not in _refusal(exc):
                raise ScenarioFailed(step, f"expected a refusal saying {step.refused!r}, got: {_refusal(exc)}") from None
            self.session.expire_all()
            return
        self.session.commit()
        if step.refused not in (None, False):
            raise ScenarioFailed(step, "expected the step to be refused, it went through",
                                 step.target if step.action == "task" else None)
        self.trace(case)

    def complete(self, step: Step, case: Case) -> None:
        open_rows = [t for t in case_service.open_tasks(self.session, case) if t.bpmn_id == step.target]
        if not open_rows:
            opened = sorted(t.bpmn_id for t in case_service.open_tasks(self.session, case))
            raise ScenarioFailed(step, f"expected an open task {step.target}, open: [{', '.join(opened)}]", step.target)
        task = open_rows[0]
        user = self.person(step, step.by, step.role or task.role, task.scope_key, task.not_by)
        self.actor = user.username
        # What the page offers (the designer's prefills and defaults), then the scenario's answer.
        values = {k: v for k, v in task_details(self.session, self.rt, user, task.id).values.items() if v is not None}
        for key, value in step.answer.items():
            values[key] = self.cases[value["case"]].code if isinstance(value, dict) else value
        case_service.complete_task(self.session, self.rt, user, task.id, values)

    def reporter(self, step: Step, case: Case) -> None:
        secret = self.secrets.get(case.id)
        if secret is None:
            raise ScenarioFailed(step, "the case has no reporter's link (only a resident's report gets one)")
        if step.target == "supplement":
            tracking.add_supplement(self.session, self.rt, case.code, secret, step.answer.get("text", ""))
        else:
            tracking.rate(self.session, self.rt, case.code, secret, step.answer.get("satisfaction"),
                          step.answer.get("comment", ""))

    def person(self, step: Step | None, username: str | None, role: str, scope: str, not_by: str | None) -> User:
        """The user named, or the first (by username) holding ``role`` over ``scope`` who may do it."""
        if username:
            user = self.session.scalars(select(User).where(User.username == username)).first()
            if user is None:
                raise ScenarioFailed(step, f"by: {username!r} is not a user of the city ({self.runner.city.name})")
            return user
        ids = members(self.session, role, scope)
        users = sorted(self.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True))),
                       key=lambda u: u.username)
        user = next((u for u in users if u.username != not_by), None)
        if user is None:
            raise ScenarioFailed(step, f"nobody of the city holds role {role} over {scope} to do it")
        return user

    # -- time --------------------------------------------------------------------------------------
    def target_time(self, step: Step, case: Case) -> datetime:
        now, calendar = self.held.moment, self.rt.calendar
        if step.action == "wait":
            return offset(calendar, now, step.target)
        if step.action == "until":
            moment = local_time(calendar, step.target)
        else:
            moment = self.due_of(step, case) + timedelta(minutes=1)
        if moment < now:
            raise ScenarioFailed(step, f"time cannot go back: it is {_show(calendar, now)} already, "
                                       f"the step asks for {_show(calendar, moment)}")
        return moment

    def due_of(self, step: Step, case: Case) -> datetime:
        task = next((t for t in case_service.open_tasks(self.session, case)
                     if t.bpmn_id == step.target and t.due_at), None)
        if task is not None:
            return task.due_at
        if (case.due_times or {}).get(step.target):
            return datetime.fromisoformat(case.due_times[step.target])
        raise ScenarioFailed(step, f"past: the case has no {step.target} due time now", step.target)

    def advance(self, step: Step, target: datetime) -> None:
        """Move the clock to ``target``, firing each timer on its way at its own time."""
        self.session.commit()
        last = None
        for _ in range(_MAX_FIRINGS):
            due = self.session.scalar(select(func.min(Case.next_timer_at)).where(Case.incident.is_(None)))
            if due is None or due >= target:
                break
            if due == last:
                raise ScenarioFailed(step, f"a timer due at {_show(self.rt.calendar, due)} did not fire")
            last = due
            self.held.move_to(max(self.held.moment, min(due + timedelta(seconds=1), target)))
            self.sweep(step)
        else:
            raise ScenarioFailed(step, f"more than {_MAX_FIRINGS} timer firings before {_show(self.rt.calendar, target)}")
        self.held.move_to(target)
        self.sweep(step)

    def sweep(self, step: Step) -> None:
        self.session.commit()  # the sweep's sessions share this connection: nothing may be pending
        while True:
            result = sweep(self.sessions, self.rt, batch=50)
            if result.incidents:
                text = result.incidents[0].split(": ", 1)[-1]
                raise ScenarioFailed(step, f"a timer failed: {text}", _element_in(text, self.runner))
            if result.fired + result.conflicts < 50:
                break
        self.session.expire_all()
        for case in self.cases.values():
            self.trace(case)

    # -- what a step left ------------------------------------------------------------------------
    def trace(self, case: Case) -> None:
        """Add the elements and flows the case has passed to the scenario's path."""
        workflow = self.rt.load_workflow(self.session, case)
        done, steps = self.rt.workflows.transitions(workflow)
        self.rt.keep_workflow(case.id, case.state, workflow)
        taken = self.runner.flows_of(done, steps)
        self.outcome.taken |= taken
        self.taken.setdefault(case.id, set()).update(taken)

    def marks_before(self, start: bool = False) -> tuple[int, int, datetime]:
        """The last event and notification ids before a step, and when it starts."""
        if start:
            return 0, 0, self.held.moment
        return (self.session.scalar(select(func.max(CaseEvent.id))) or 0,
                self.session.scalar(select(func.max(Notification.id))) or 0, self.held.moment)

    def check(self, step: Step | None, which: str | None, expect, event_mark: int, notice_mark: int,
              started: datetime) -> None:
        if not expect:
            return
        case = self.cases[which]
        self.session.expire_all()
        self.session.refresh(case)
        events = [k for k in self.session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case.id, CaseEvent.id > event_mark)
            .order_by(CaseEvent.id)) if k not in _OWN_RECORD]
        notices: dict[str, set[str]] = {}
        for kind, username in self.session.execute(
                select(Notification.kind, User.username).join(User, User.id == Notification.user_id)
                .where(Notification.case_id == case.id, Notification.id > notice_mark)):
            notices.setdefault(kind, set()).add(username)
        seen = Seen(stage=case.stage, status=case.status, department=case.department_code or "",
                    due_times=dict(case.due_times or {}), escalation_level=case.escalation_level or 0,
                    overdue=bool(case.overdue), at_risk=bool(case.at_risk),
                    open=[t.bpmn_id for t in case_service.open_tasks(self.session, case)],
                    events=events, notices=notices, taken=self.taken.get(case.id, set()))
        mismatches = compare(expect, seen, self.rt.calendar, self.held.moment)
        if mismatches:
            element = next((m.element for m in mismatches if m.element), None)
            if element is None and step is not None and step.action == "task":
                element = step.target
            raise ScenarioFailed(step, "; ".join(m.text for m in mismatches), element)


def _refusal(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        return "; ".join(f"{name}: {' '.join(map(str, texts))}" for name, texts in errors.items())
    return str(getattr(exc, "message", exc))


def _element_in(text: str, runner: ScenarioRunner) -> str | None:
    ids = runner.flows.ids if runner.flows else frozenset()
    return next((word.strip("(),.:'\"") for word in text.split() if word.strip("(),.:'\"") in ids), None)


def _show(calendar, moment: datetime) -> str:
    return moment.astimezone(calendar.tz).strftime("%Y-%m-%d %H:%M")


__all__ = ["Mismatch", "Outcome", "ScenarioRunner"]
