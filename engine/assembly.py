"""Build what a web app, worker or command runs on: the database and the engine with its outbound listeners."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from engine import assessment, outbound
from engine.assessment import twoway
from engine.runtime import Runtime
from models import open_database

__all__ = ["make_runtime", "open_database"]


def make_runtime(settings: dict, clock: Callable[[], datetime] | None = None) -> Runtime:
    """Return a Runtime whose recorded steps reach notifications, webhooks, the assessment facts and
    the two-way ratings."""
    return twoway.subscribe(assessment.subscribe(outbound.subscribe(Runtime(settings, clock=clock))))
