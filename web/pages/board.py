"""The supervision board: overdue and at-risk work by street, and the tasks a supervisor oversees."""
from __future__ import annotations

from flask import g, render_template, request

from engine.assessment.board import board_with_figures

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp, now
from web.present import countdown


@bp.get("/board")
@login_required(lambda: runtime().policy.board_roles)
def board():
    moment = now()
    figures = board_with_figures(get_session(), runtime(), g.user, now=moment)
    data = figures.board
    context = dict(board=data, figures=figures, moment=moment,
                   clocks={t.id: countdown(t.due_at, moment, t.case.category.emergency) for t in data.supervise_tasks})
    if request.args.get("partial"):
        return render_template("board/_body.html", **context)
    return render_template("board/board.html", **context)
