"""The engine's per-process context: settings, clock, calendar, the Spiff facade, spec cache."""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any, Callable

from sqlalchemy.orm import Session

from models import ProcessVersion

from engine import clock as clock_module
from engine.calendar.working_time import BusinessCalendar
from engine.errors import NotFound
from engine.process.policy import POLICY_FILES, Policy, load_policy, parse_policy
from engine.spiff import ProcessBundle, ProcessError, WorkflowEngine


def _instant(value) -> datetime:
    """Accept an ISO string or datetime from case data; naive values are refused."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"expected a timezone-aware ISO time, got {value!r}")
    return moment


def expression_functions(calendar: BusinessCalendar, clock: Callable[[], datetime],
                         emergency: bool) -> dict[str, Any]:
    """The functions BPMN/DMN expressions may call, over ``calendar`` and ``clock`` (the 24/7 clock
    for an emergency); processes/README.md lists them."""

    def deadline(hours=0, days=0):
        return calendar.add(clock(), hours=hours, days=days, emergency=emergency).isoformat()

    def deadline_from(start, hours=0, days=0):
        return calendar.add(_instant(start), hours=hours, days=days, emergency=emergency).isoformat()

    def now():
        return clock().isoformat()

    def working_hours_between(start, end):
        return calendar.working_hours_between(_instant(start), _instant(end), emergency=emergency)

    def warn_at(start, due, fraction):
        begin = _instant(start)
        hours = calendar.working_hours_between(begin, _instant(due), emergency=emergency)
        return calendar.add(begin, hours=hours * float(fraction), emergency=emergency).isoformat()

    def local_time(value):
        # A time as people read it in notices: the calendar's zone, to the minute.
        return _instant(value).astimezone(calendar.tz).strftime("%Y-%m-%d %H:%M")

    def cycles_since(start, hours=0, days=0):
        return calendar.intervals_between(_instant(start), clock(), hours=hours, days=days,
                                          emergency=emergency)

    def every(hours=0, days=0, after=None):
        # An ISO repeating interval whose start is the next whole interval after `after`
        # that is still ahead; the engine evaluates it again after each firing.
        begin = _instant(after) if after is not None else clock()
        k = calendar.intervals_between(begin, clock(), hours=hours, days=days, emergency=emergency) + 1
        first = calendar.add(begin, hours=hours * k, days=days * k, emergency=emergency)
        minutes = round((hours + days * (24 if emergency else calendar.day_length / 60)) * 60)
        return f"R/{first.isoformat()}/PT{minutes}M"

    return {"deadline": deadline, "deadline_from": deadline_from, "now": now,
            "working_hours_between": working_hours_between, "warn_at": warn_at,
            "cycles_since": cycles_since, "every": every, "local_time": local_time}


class Runtime:
    """Hold what every engine call needs; one per web app or worker process."""

    def __init__(self, settings: dict, clock: Callable[[], datetime] | None = None):
        self.settings = settings
        self.clock = clock or clock_module.now
        self.calendar = BusinessCalendar.from_settings(settings)
        self.workflows = WorkflowEngine(self.expression_functions)
        self._bundles: dict[int, ProcessBundle] = {}
        self._policies: dict[int, Policy] = {}
        self._functions = {flag: expression_functions(self.calendar, lambda: self.clock(), flag)
                           for flag in (False, True)}
        self._live: OrderedDict[int, tuple[bytes, Any]] = OrderedDict()
        self._live_size = int(settings.get("WORKFLOW_CACHE_SIZE", 256))
        self._live_lock = threading.Lock()
        self.role_cache: dict[str, tuple[float, list]] = {}  # memberships by role, for notifications
        self._listeners: list[Callable[[Session, Any], None]] = []

    def subscribe(self, listener: Callable[[Session, Any], None]) -> None:
        """Call ``listener(session, step)`` with every step recorded through this runtime."""
        self._listeners.append(listener)

    def publish(self, session: Session, step: Any) -> None:
        """Hand a recorded step to every listener, inside the step's transaction."""
        for listener in self._listeners:
            listener(session, step)

    def expression_functions(self, data: dict) -> dict[str, Any]:
        """Return the functions BPMN/DMN expressions may call; emergencies get the 24/7 clock."""
        return self._functions[bool(data.get("emergency"))]

    def bundle(self, session: Session, process_version_id: int) -> ProcessBundle:
        """Return the parsed spec of a deployed version, deserialized once per process."""
        bundle = self._bundles.get(process_version_id)
        if bundle is None:
            version = session.get(ProcessVersion, process_version_id)
            if version is None:
                raise NotFound(f"process version {process_version_id} does not exist")
            try:
                bundle = self.workflows.load_spec(version.serialized_spec)
            except ProcessError as exc:
                # Corrupt, or written by a library version whose format changed: the source
                # files parse to the same spec. Not written back: a deployed version stays
                # as deployed, and this cache makes it one parse per version per process.
                logging.getLogger("gridflow.process").warning(
                    "process version %s (%s v%s): %s; rebuilt from its source files",
                    version.id, version.key, version.version, exc)
                diagrams = {n: t for n, t in version.source_files.items() if n.endswith((".bpmn", ".dmn"))}
                bundle = self.workflows.parse(diagrams)[version.key]
            self._bundles[process_version_id] = bundle
        return bundle

    def calendar_missing_years(self) -> list[int]:
        """Return which of this year and next lack the official holiday arrangement."""
        now = self.clock()
        return self.calendar.missing_years(now, now.replace(year=now.year + 1))

    @property
    def policy(self) -> Policy:
        """The policy of the processes folder: who may assign, report, see the board; stage names."""
        return load_policy(self.settings["PROCESSES_DIR"])

    def policy_of(self, session: Session, process_version_id: int) -> Policy:
        """The policy deployed with a version (its ladder and lanes apply to its running cases);
        a version deployed without policy files follows the processes folder."""
        policy = self._policies.get(process_version_id)
        if policy is None:
            version = session.get(ProcessVersion, process_version_id)
            files = {n: t for n, t in ((version.source_files or {}) if version else {}).items() if n in POLICY_FILES}
            if len(files) < len(POLICY_FILES):
                return self.policy
            policy = self._policies[process_version_id] = parse_policy(files)
        return policy

    def calendar_warning(self) -> str | None:
        """Say which of this year and next lack holiday data, or None when both are known."""
        years = self.calendar_missing_years()
        if not years:
            return None
        listed = ", ".join(map(str, years))
        return (f"No official holiday arrangement for {listed}: deadlines there skip weekends and the "
                f"holidays fixed by law but no bridging days, and are flagged as estimated. Add the State "
                f"Council's arrangement to {self.settings.get('CALENDAR_FILE')} and list the year in complete_years.")

    def warn_about_calendar(self) -> None:
        message = self.calendar_warning()
        if message:
            logging.getLogger("gridflow.calendar").warning(message)

    def load_workflow(self, session: Session, case) -> Any:
        """Return the case's workflow: the live object if it produced exactly the stored state.

        The entry is taken out of the cache, so a step that fails half-way can never leave a
        mutated workflow behind; :meth:`keep_workflow` puts it back under its new state.
        """
        with self._live_lock:
            entry = self._live.pop(case.id, None)
        bundle = self.bundle(session, case.process_version_id)
        # The same state can run on another spec: a case migrated without renamed tasks keeps
        # its bytes, and a process that cached it before the move must not run the old spec.
        if entry is not None and entry[0] == case.state and entry[1].spec is bundle.spec:
            return entry[1]
        return self.workflows.load_state(bundle, case.state)

    def forget_workflows(self) -> None:
        """Drop every live workflow (a scenario run starts each scenario on a new database)."""
        with self._live_lock:
            self._live.clear()

    def keep_workflow(self, case_id: int, state: bytes, workflow: Any) -> None:
        """Remember the live workflow that serializes to ``state`` (it is reused only on an exact match)."""
        if self._live_size <= 0:
            return
        with self._live_lock:
            self._live[case_id] = (state, workflow)
            self._live.move_to_end(case_id)
            while len(self._live) > self._live_size:
                self._live.popitem(last=False)
