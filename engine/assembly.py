"""Build the runtime a web app, worker or command uses: the engine with its outbound listeners."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from engine import outbound
from engine.runtime import Runtime


def make_runtime(settings: dict, clock: Callable[[], datetime] | None = None) -> Runtime:
    """Return a Runtime whose recorded steps reach notifications and webhooks."""
    return outbound.subscribe(Runtime(settings, clock=clock))
