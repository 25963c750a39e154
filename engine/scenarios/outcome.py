"""What a scenario's run gives: its outcome, and the failure that stops it at a step."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.process.scenarios import Scenario, Step


@dataclass
class Outcome:
    """One scenario's run: passed, or where it failed (step 0 is the report)."""

    scenario: Scenario
    failure: str | None = None
    step: int | None = None
    label: str | None = None
    element: str | None = None
    taken: set[str] = field(default_factory=set)   # elements and sequence flows its cases passed
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.failure is None

    @property
    def text(self) -> str:
        """One line: ``name: step 4 (sign_for as handler_hw): expected …``."""
        if self.passed:
            return f"{self.scenario.id}: passed"
        if self.step is None:
            return f"{self.scenario.id}: {self.failure}"
        return f"{self.scenario.id}: step {self.step} ({self.label}): {self.failure}"


class ScenarioFailed(Exception):
    """A step did not do what the scenario says; the scenario stops there."""

    def __init__(self, step: Step | None, text: str, element: str | None = None):
        super().__init__(text)
        self.step, self.text, self.element = step, text, element
        self.actor: str | None = None   # who did the failing task, when the scenario did not say
