"""The one clock of the engine. SpiffWorkflow's timers read it too (engine/spiff/patches.py).

Tests move it with time-machine; benchmarks and demos may shift it with :func:`shifted`; a
scenario run holds it still with :func:`held` and moves it itself, for its own thread only; a
simulation's replay holds it before any due time, so that only the timers history fired fire.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone

_offset = timedelta(0)


class HeldClock:
    """A clock that stands still until it is moved (the time a scenario run is at)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def move_to(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a held clock needs a timezone-aware time")
        self.moment = moment.astimezone(timezone.utc)


# A context variable, not a global: a web worker's thread that runs a designer's scenarios holds
# its own time while the requests of every other thread, and the sweep, keep the real one.
_held: ContextVar[HeldClock | None] = ContextVar("gridflow_held_clock", default=None)


def now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    held = _held.get()
    if held is not None:
        return held.moment
    return datetime.now(timezone.utc) + _offset


@contextmanager
def shifted(delta: timedelta):
    """Run a block as if the time were ``delta`` later (negative: earlier); not thread-safe."""
    global _offset
    previous = _offset
    _offset = previous + delta
    try:
        yield
    finally:
        _offset = previous


@contextmanager
def held(moment: datetime):
    """Run a block with the clock standing at ``moment`` in this thread (and context) only; the
    block moves it with the yielded :class:`HeldClock`'s ``move_to``."""
    clock = HeldClock(moment)
    clock.move_to(moment)
    token = _held.set(clock)
    try:
        yield clock
    finally:
        _held.reset(token)
