"""Assessment (综合评价): facts kept with every step, and the figures read from them for any period.

The step writer never imports this package; :func:`subscribe` hands a runtime the listener that
writes each step's facts in the step's own transaction.
"""
from __future__ import annotations

from engine.assessment.facts import FactWriter
from engine.runtime import Runtime


def subscribe(rt: Runtime) -> Runtime:
    """Have ``rt`` keep assessment facts with every recorded step; return ``rt``."""
    rt.subscribe(FactWriter(rt))
    return rt
