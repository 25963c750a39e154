"""A whole scenario run: which scenarios, their outcomes, the sequence flows of the case process
they took and did not take; run from a folder, a deployed version or a studio draft."""
from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from engine.process import deploy as deploying
from engine.process import drafts
from engine.process.versions import version_files
from engine.runtime import Runtime
from engine.scenarios.runner import Outcome, ScenarioRunner


@dataclass
class RunReport:
    process: str
    outcomes: list[Outcome]
    problems: list[str]                       # scenario files refused, processes that do not deploy
    flows: list[str]                          # the case process's sequence flows, in diagram order
    seconds: float

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def failed(self) -> int:
        return len(self.outcomes) - self.passed

    @property
    def covered(self) -> list[str]:
        taken = set().union(*(o.taken for o in self.outcomes)) if self.outcomes else set()
        return [f for f in self.flows if f in taken]

    @property
    def uncovered(self) -> list[str]:
        covered = set(self.covered)
        return [f for f in self.flows if f not in covered]

    @property
    def ok(self) -> bool:
        return not self.problems and self.failed == 0

    def summary(self) -> dict:
        """The figures of the run, as the command's last line gives them."""
        return {"passed": self.passed, "failed": self.failed, "problems": len(self.problems),
                "scenarios": len(self.outcomes), "process": self.process,
                "flows_covered": len(self.covered), "flows_total": len(self.flows),
                "coverage": round(len(self.covered) / len(self.flows), 4) if self.flows else None,
                "uncovered": self.uncovered, "seconds": round(self.seconds, 2)}


def selected(runner: ScenarioRunner, pattern: str | None) -> list:
    """The runner's scenarios whose id (``file/name``) contains ``pattern`` or matches it as a glob."""
    if not pattern:
        return list(runner.scenarios)
    return [s for s in runner.scenarios if pattern in s.id or fnmatch.fnmatch(s.id, pattern)]


def run_files(settings: dict, files: dict[str, str], pattern: str | None = None,
              city: Path | str | None = None) -> RunReport:
    """Deploy ``files`` on a copy of the city and run their scenarios (those ``pattern`` selects)."""
    started = time.perf_counter()
    with ScenarioRunner(settings, files, city) as runner:
        outcomes = [runner.run(s) for s in selected(runner, pattern)] if runner.ready else []
        flows = list(runner.flows.flows) if runner.flows else []
        return RunReport(runner.key, outcomes, list(runner.problems), flows, time.perf_counter() - started)


def run_folder(settings: dict, folder: Path | str, pattern: str | None = None) -> RunReport:
    return run_files(settings, deploying.read_files([folder]), pattern)


def run_version(session: Session, rt: Runtime, version: int, pattern: str | None = None) -> RunReport:
    """Run the scenarios a deployed version carries, against that version's files."""
    return run_files(rt.settings, version_files(session, rt.settings["CASE_PROCESS"], version), pattern)


def run_draft(session: Session, rt: Runtime, draft_id: int, pattern: str | None = None) -> RunReport:
    """Run a studio draft's scenarios against the draft's files as saved."""
    return run_files(rt.settings, drafts.view(session, rt, draft_id).files, pattern)


@dataclass(frozen=True)
class PinnedOutcome:
    """A scenario's outcome as the studio lists it: a failure pinned to its diagram element."""

    id: str
    file: str
    title: str
    passed: bool
    step: int | None
    label: str | None
    failure: str | None
    text: str
    element: str | None
    element_file: str | None   # the diagram the element is in, for the modeller to open


@dataclass(frozen=True)
class DraftRun:
    report: RunReport
    outcomes: list[PinnedOutcome]
    problems: list[drafts.Problem]


def run_draft_pinned(session: Session, rt: Runtime, draft_id: int, pattern: str | None = None) -> DraftRun:
    """Run a draft's scenarios; each failure that names an element is pinned to it, as the
    server check pins its problems."""
    files = drafts.view(session, rt, draft_id).files
    report = run_files(rt.settings, files, pattern)
    ids = drafts.element_files(files)
    outcomes = [PinnedOutcome(o.scenario.id, o.scenario.file, o.scenario.title, o.passed, o.step, o.label, o.failure,
                              o.text, o.element if o.element in ids else None, ids.get(o.element or ""))
                for o in report.outcomes]
    return DraftRun(report, outcomes, drafts.pinned(report.problems, ids, files))
