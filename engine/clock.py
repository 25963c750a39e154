"""The one clock of the engine. SpiffWorkflow's timers read it too (engine/workflow.py).

Tests move it with time-machine; benchmarks and demos may shift it with :func:`shifted`.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

_offset = timedelta(0)


def now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
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
