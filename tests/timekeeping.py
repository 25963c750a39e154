"""Times the tests share: the demo city's time zone and the Wednesday the suite starts on
(2026-11-25 10:00, a working day); the `clock` fixture (tests/conftest.py) freezes time there."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=SH)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """That day of November 2026 at that local time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def local(dt: datetime) -> datetime:
    """A stored (UTC) time as naive local time, for readable assertions."""
    return dt.astimezone(SH).replace(tzinfo=None)
