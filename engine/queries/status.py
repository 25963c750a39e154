"""What an operator checks first: is the database reachable, which process version runs, how many cases."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Case

from engine.process.deploy import latest_version


@dataclass
class SystemStatus:
    process: str | None
    cases_by_status: dict[str, int]


def system_status(session: Session, process_key: str) -> SystemStatus:
    version = latest_version(session, process_key)
    counts = dict(session.execute(select(Case.status, func.count()).group_by(Case.status)).all())
    return SystemStatus(f"{version.key} v{version.version}" if version else None, counts)
