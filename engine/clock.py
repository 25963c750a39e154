"""The one clock of the engine. SpiffWorkflow's timers read it too (engine/spiff/patches.py).

Tests move it with time-machine; benchmarks and demos may shift it with :func:`shifted`; a
simulation's replay holds it still for its own thread with :func:`pinned`.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone

_offset = timedelta(0)
_pinned: ContextVar[datetime | None] = ContextVar("gridflow_clock_pinned", default=None)


def now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    held = _pinned.get()
    if held is not None:
        return held
    return datetime.now(timezone.utc) + _offset


@contextmanager
def pinned(moment: datetime):
    """Run a block (in this thread or task only) as if the time were always ``moment``."""
    token = _pinned.set(moment)
    try:
        yield
    finally:
        _pinned.reset(token)


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
