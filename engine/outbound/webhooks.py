"""Outbound webhooks: queue a delivery with the step that caused it, send it later, sign it,
retry with back-off, log every attempt."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from models import WebhookDelivery

from engine.runtime import Runtime

log = logging.getLogger("gridflow.webhooks")
_INSERT = insert(WebhookDelivery.__table__)


def signature(secret: str, body: bytes) -> str:
    """The X-Gridflow-Signature header value for a body: sha256=<hex HMAC>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def queue(session: Session, step, *, rt: Runtime) -> None:
    """Queue a delivery per configured receiver for each of the step's events it subscribes to."""
    hooks = rt.settings.get("WEBHOOKS") or []
    if not hooks:
        return
    now, case, events = rt.clock(), step.case, step.events
    rows = []
    for event in events:
        for hook in hooks:
            if event["kind"] in hook.get("events", []):
                rows.append({
                    "url": hook["url"], "event": event["kind"], "case_id": case.id, "status": "pending",
                    "attempts": 0, "next_attempt_at": now, "created_at": now,
                    "payload": {"event": event["kind"], "at": now.isoformat(), "data": event["data"],
                                "case": {"code": case.code, "status": case.status, "stage": case.stage,
                                         "department": case.department_code,
                                         "due_at": case.due_at.isoformat() if case.due_at else None}}})
    if rows:
        session.connection().execute(_INSERT, rows)


def deliver_due(sessions: sessionmaker, rt: Runtime, limit: int = 100) -> int:
    """Send the deliveries whose time has come; return how many were delivered.

    No row is locked while a receiver is waited on: a short transaction claims the due rows
    (counts the attempt and moves their next attempt past the time a post may take, so another
    sweep process leaves them alone), the posts go out with no transaction open, and a second
    short transaction records each outcome. A process killed in between leaves its claims to be
    retried when they expire: a receiver may see a delivery twice (X-Gridflow-Delivery tells)."""
    hooks = {h["url"]: h for h in rt.settings.get("WEBHOOKS") or []}
    timeout = float(rt.settings.get("WEBHOOK_TIMEOUT_SECONDS", 5))
    retry = float(rt.settings.get("WEBHOOK_RETRY_SECONDS", 30))
    max_attempts = int(rt.settings.get("WEBHOOK_MAX_ATTEMPTS", 8))
    with sessions() as session:
        now = rt.clock()
        query = (select(WebhookDelivery).where(WebhookDelivery.status == "pending",
                                              WebhookDelivery.next_attempt_at <= now)
                 .order_by(WebhookDelivery.next_attempt_at).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for row in session.scalars(query).all():
            row.attempts += 1
            row.next_attempt_at = now + timedelta(seconds=timeout * 2 + 60)  # the claim's expiry
            claimed.append((row.id, row.url, row.payload, row.attempts))
        session.commit()
    outcomes = [(row_id, url, attempts,
                 "receiver no longer configured" if url not in hooks else _post(hooks[url], payload, timeout, row_id))
                for row_id, url, payload, attempts in claimed]
    delivered = 0
    with sessions() as session:
        for row_id, url, attempts, error in outcomes:
            row = session.get(WebhookDelivery, row_id)
            if row is None:
                continue
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", rt.clock(), None
                delivered += 1
                continue
            row.last_error = error[:500]
            if url not in hooks or attempts >= max_attempts:
                row.status = "failed"
                log.warning("webhook to %s gave up after %d attempt(s): %s", url, attempts, error)
            else:
                row.next_attempt_at = rt.clock() + timedelta(seconds=retry * 2 ** (attempts - 1))
        session.commit()
    return delivered


def _post(hook: dict, payload: dict, timeout: float, delivery_id: int) -> str | None:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(hook["url"], data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "gridflow-webhook",
        "X-Gridflow-Delivery": str(delivery_id),
        "X-Gridflow-Event": payload["event"], "X-Gridflow-Signature": signature(hook.get("secret", ""), body)})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
