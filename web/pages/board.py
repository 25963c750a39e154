"""The supervision board: overdue and at-risk work by street, and the 督办 in progress, a page at a time."""
from __future__ import annotations

from flask import g, render_template, request

from engine.errors import InputError, Message
from engine.queries import board as board_service

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp, now
from web.present import countdown


def _offset(raw: str | None) -> int:
    """The 督办 list's offset: a whole number of at least 0."""
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or len(raw) > 9:
        raise InputError({"offset": [Message("Must be a whole number of at least 0.")]}, "The board's page is invalid.")
    return int(raw)


@bp.get("/board")
@login_required(lambda: runtime().policy.board_roles)
def board():
    moment, rt = now(), runtime()
    data = board_service.supervision_board(get_session(), g.user, now=moment, policy=rt.policy,
                                           calendar=rt.calendar, offset=_offset(request.args.get("offset")))
    context = dict(board=data, moment=moment, offset=data.supervision.offset,
                   clocks={r.task.id: countdown(r.task.due_at, moment, r.task.case.category.emergency)
                           for r in data.supervision.rows})
    if request.args.get("partial"):
        return render_template("board/_body.html", **context)
    return render_template("board/board.html", **context)
