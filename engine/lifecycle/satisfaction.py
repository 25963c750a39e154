"""One satisfaction per closing: the clerk's phone callback (回访) and the resident's own rating.

Both are kept as ratings with their source: ``resident`` for the reporter's rating through the
tracking link, or the BPMN id of the staff task whose form has a ``satisfaction`` field (the
callback, as shipped). The case's satisfaction for a closing is the resident's when they rated,
else the callback's: the resident's own word wins over what someone noted on the phone.
A closing's round starts at the case's last reopening.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, CaseEvent, Rating

LEVELS = ("satisfied", "basically", "dissatisfied")  # anything else (e.g. "not reached") is no rating
FIELD = "satisfaction"  # the form field or message value that carries a rating
RESIDENT = "resident"


@dataclass(frozen=True)
class Satisfaction:
    """The closing's satisfaction and both ratings behind it (either may be missing)."""

    value: str
    source: str
    resident: Rating | None
    callback: Rating | None


def record(session: Session, case: Case, source: str, values: dict[str, Any], at: datetime,
           comment_field: str | None = "comment") -> Rating | None:
    """Keep the rating a step carried (``values[FIELD]``), with its source; None when it carried none."""
    level = values.get(FIELD)
    if level not in LEVELS:
        return None
    comment = values.get(comment_field) if comment_field else None
    rating = Rating(case_id=case.id, satisfaction=level, source=source,
                    comment=comment.strip()[:500] if isinstance(comment, str) else "", created_at=at)
    session.add(rating)
    session.flush()
    return rating


def of_case(session: Session, case: Case) -> Satisfaction | None:
    """The satisfaction of the case's current (or last) closing round, or None when nobody rated it."""
    since = session.scalar(select(CaseEvent.at).where(CaseEvent.case_id == case.id, CaseEvent.kind == "reopened")
                           .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(1))
    query = select(Rating).where(Rating.case_id == case.id).order_by(Rating.created_at, Rating.id)
    if since is not None:
        query = query.where(Rating.created_at > since)
    resident = callback = None
    for rating in session.scalars(query):
        if rating.source == RESIDENT:
            resident = rating
        else:
            callback = rating
    chosen = resident or callback
    if chosen is None:
        return None
    return Satisfaction(chosen.satisfaction, chosen.source, resident, callback)


def resident_rated(session: Session, case: Case) -> Rating | None:
    """The reporter's own rating of the current closing round, if they gave one."""
    current = of_case(session, case)
    return current.resident if current else None
