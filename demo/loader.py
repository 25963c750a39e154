"""Load the demo city (the folder cities/demo) through the city importer."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.city import import_city
from models import OrgUnit

ROOT = Path(__file__).resolve().parent.parent
DEMO_CITY = ROOT / "cities" / "demo"
# Demo-only password shared by every demo user; never use it outside a local demo.
DEMO_PASSWORD = "gridflow-demo"


@dataclass
class DemoSummary:
    org_units: dict[str, int]
    departments: int
    categories: int
    users: int
    password: str


def load_demo_city(session: Session, grid_code_length: int = 15,
                   processes_dir: Path = ROOT / "processes") -> DemoSummary:
    """Import the demo city with its shared password; return what it holds (the caller commits)."""
    result = import_city(session, DEMO_CITY, grid_code_length=grid_code_length, processes_dir=processes_dir,
                         shared_password=DEMO_PASSWORD)
    levels = dict(session.execute(select(OrgUnit.level, func.count()).group_by(OrgUnit.level)).all())
    return DemoSummary(org_units=levels, departments=result.counts["departments"],
                       categories=result.counts["categories"], users=result.counts["users"], password=DEMO_PASSWORD)
