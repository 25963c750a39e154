"""The one clock of the engine; tests move it with time-machine."""
from datetime import datetime, timezone


def now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)
