"""Problems found by the city importer's checks, given back as the field errors of one record."""
from __future__ import annotations

from engine.city.sheets import Problem
from engine.errors import InputError, Message


def raise_problems(problems: list[Problem]) -> None:
    """Raise InputError naming each problem's column as the field; nothing when there are none."""
    if not problems:
        return
    errors: dict[str, list[str]] = {}
    for p in problems:
        errors.setdefault(p.column or "_body", []).append(Message(p.rule))
    raise InputError(errors)
