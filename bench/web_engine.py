"""`gridflow bench web`, engine half: make sure the database holds N generated cases and time
the engine functions behind the inbox and the supervision board (no Flask here)."""
from __future__ import annotations

import statistics
import time
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from models import Case, User

from bench.common import ensure_demo
from demo.generate import analyze, generate_cases
from engine.queries.inbox import inbox_counts, inbox_page
from engine.runtime import Runtime
from engine.queries.search import supervision_board

# Who the benchmark signs in as: a street's acceptance clerk, a department handler, the district's supervisor.
INBOX_USERS = {"inbox_clerk": "clerk_dhm", "inbox_handler": "handler_hw"}
BOARD_USER = "super_district"


def ensure_cases(rt: Runtime, sessions: sessionmaker, n: int, echo: Callable[[str], None] = print) -> int:
    """Create the demo city if needed and generate cases until there are at least ``n``; return the count."""
    ensure_demo(rt, sessions)
    with sessions() as session:
        have = session.scalar(select(func.count()).select_from(Case)) or 0
    if have < n:
        echo(f"{have} cases in the database; generating {n - have} more")
        result = generate_cases(sessions, rt, n - have, echo=echo)
        echo(f"generated {result.cases} cases in {result.seconds} s")
        have += result.cases
    else:
        analyze(sessions)
    return have


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches and statement compilation once
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def time_engine(rt: Runtime, sessions: sessionmaker, repeat: int) -> dict[str, float]:
    """Median ms of inbox_page + inbox_counts for each inbox user and of supervision_board."""
    figures = {}
    with sessions() as session:
        users = {u.username: u for u in session.scalars(
            select(User).where(User.username.in_([*INBOX_USERS.values(), BOARD_USER])))}

        def inbox(user):
            def run():
                now = rt.clock()
                inbox_page(session, user, now=now)
                inbox_counts(session, user, now=now)
                session.expire_all()
            return run

        for key, username in INBOX_USERS.items():
            figures[f"{key}_engine_ms"] = median_ms(inbox(users[username]), repeat)

        def board():
            supervision_board(session, users[BOARD_USER], now=rt.clock(), board_roles=rt.policy.board_roles,
                              stage_owners={c: s.owner for c, s in rt.policy.stages.items()})
            session.expire_all()
        figures["board_engine_ms"] = median_ms(board, repeat)
    return figures
