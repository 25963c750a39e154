"""The supervision board with the month's figures beside the live counts: closing and on-time rates
by street and by department, and this month's late tasks by whose work they were."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from models import User

from engine.assessment import figures
from engine.assessment.periods import Period
from engine.errors import Forbidden
from engine.queries.board import PAGE_SIZE, Board, supervision_board
from engine.runtime import Runtime


@dataclass
class BoardWithFigures:
    board: Board
    period: Period
    rates_by_street: dict[str, figures.Item] = field(default_factory=dict)
    rates_by_department: dict[str, figures.Item] = field(default_factory=dict)
    month: figures.Item | None = None          # the whole scope this month (late tasks by owner in late_by_owner)
    late_by_owner: dict[str, int] = field(default_factory=dict)


def board_with_figures(session: Session, rt: Runtime, user: User, *, now: datetime, offset: int = 0,
                       limit: int = PAGE_SIZE) -> BoardWithFigures:
    """The live board (with a page of its 督办 list), and this month's rates for its streets and
    departments where the user reads the assessment."""
    board = supervision_board(session, user, now=now, policy=rt.policy, calendar=rt.calendar,
                              offset=offset, limit=limit)
    today = now.astimezone(rt.calendar.tz).date()
    period = Period.month(today.year, today.month)
    out = BoardWithFigures(board, period)
    try:
        streets = figures.assessment(session, rt, user, period, "street")
        departments = figures.assessment(session, rt, user, period, "department")
    except Forbidden:
        return out
    out.rates_by_street = {i.key: i for i in streets.items}
    out.rates_by_department = {i.key: i for i in departments.items}
    out.month = streets.total
    out.late_by_owner = figures.late_by_owner(session, rt, user, period)
    return out
