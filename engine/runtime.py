"""The engine's per-process context: settings, clock, calendar, the Spiff facade, spec cache."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlalchemy.orm import Session

from models import ProcessVersion

from . import clock as clock_module
from .calendar import BusinessCalendar
from .errors import NotFound
from .workflow import ProcessBundle, WorkflowEngine


class Runtime:
    """Hold what every engine call needs; one per web app or worker process."""

    def __init__(self, settings: dict, clock: Callable[[], datetime] | None = None):
        self.settings = settings
        self.clock = clock or clock_module.now
        self.calendar = BusinessCalendar.from_settings(settings)
        self.workflows = WorkflowEngine(self.expression_functions)
        self._bundles: dict[int, ProcessBundle] = {}

    def expression_functions(self, data: dict) -> dict[str, Any]:
        """Return the functions BPMN/DMN expressions may call, bound to one case's data."""
        emergency = bool(data.get("emergency"))
        calendar, clock = self.calendar, self.clock

        def deadline(hours=0, days=0):
            return calendar.add(clock(), hours=hours, days=days, emergency=emergency).isoformat()

        def deadline_from(start, hours=0, days=0):
            begin = datetime.fromisoformat(start) if isinstance(start, str) else start
            return calendar.add(begin, hours=hours, days=days, emergency=emergency).isoformat()

        def now():
            return clock().isoformat()

        return {"deadline": deadline, "deadline_from": deadline_from, "now": now}

    def bundle(self, session: Session, process_version_id: int) -> ProcessBundle:
        """Return the parsed spec of a deployed version, deserialized once per process."""
        bundle = self._bundles.get(process_version_id)
        if bundle is None:
            version = session.get(ProcessVersion, process_version_id)
            if version is None:
                raise NotFound(f"process version {process_version_id} does not exist")
            bundle = self.workflows.load_spec(version.serialized_spec)
            self._bundles[process_version_id] = bundle
        return bundle
