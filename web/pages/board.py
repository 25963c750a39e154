"""The supervision board: overdue and at-risk work by street, and the 督办 in progress, a page at a time."""
from __future__ import annotations

from flask import g, render_template, request

from engine.assessment.board import board_with_figures
from engine.errors import InputError, Message
from engine.queries import board as board_service

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp, error_text, now
from web.present import countdown


def _page(args) -> tuple[int, int | None]:
    """The 督办 list's page: ``offset`` (at least 0) and ``limit`` (1 to 100), both optional."""
    errors, values = {}, {}
    for name, low, high in (("offset", 0, 10 ** 9), ("limit", 1, board_service.MAX_PAGE_SIZE)):
        raw = args.get(name)
        if raw in (None, ""):
            continue
        if not raw.isdigit() or not low <= int(raw) <= high:
            errors[name] = [Message("Must be a whole number from {low} to {high}.", low=low, high=high)]
        else:
            values[name] = int(raw)
    if errors:
        raise InputError(errors, "The board's page is invalid.")
    return values.get("offset", 0), values.get("limit")


@bp.get("/board")
@login_required(lambda: runtime().policy.board_roles)
def board():
    moment = now()
    try:
        offset, limit, page_error = *_page(request.args), None
    except InputError as exc:  # as a list's bad filter does: the first page, with the rule above it
        offset, limit, page_error = 0, None, error_text(exc)
    figures = board_with_figures(get_session(), runtime(), g.user, now=moment, offset=offset,
                                 limit=limit or board_service.PAGE_SIZE)
    data = figures.board
    context = dict(board=data, figures=figures, moment=moment, offset=data.supervision.offset, limit=limit,
                   page_error=page_error,
                   clocks={r.task.id: countdown(r.task.due_at, moment, r.task.case.category.emergency)
                           for r in data.supervision.rows})
    if request.args.get("partial"):
        return render_template("board/_body.html", **context)
    return render_template("board/board.html", **context)
