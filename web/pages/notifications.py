"""The notifications page, marking notifications read, and the unread count every page's menu shows."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import g, redirect, render_template, request, url_for

from engine.outbound import notifications as notification_service
from engine.queries.unread import unread_count, unread_notifications

from web.auth import login_required
from web.db import get_session
from web.pages import bp, now


@bp.get("/notifications")
@login_required()
def notifications():
    return render_template("notifications.html", items=unread_notifications(get_session(), g.user.id, limit=100))


@bp.post("/notifications/read")
@login_required()
def read_notifications():
    session = get_session()
    ids = [int(i) for i in request.form.getlist("id") if i.isdigit() and len(i) < 12]
    if request.form.get("all"):
        ids = [n.id for n in notification_service.unread(session, g.user.id, limit=500)]
    if ids:
        notification_service.mark_read(session, g.user.id, ids, now())
        session.commit()
    return redirect(url_for("pages.notifications"))


@bp.app_context_processor
def _globals():
    unread = unread_count(get_session(), g.user.id) if g.get("user") is not None else 0
    return {"unread_count": unread, "urlencode": urlencode}
