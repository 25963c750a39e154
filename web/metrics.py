"""`/metrics` for Prometheus, and the request timing behind it (engine/metrics.py says what is
measured). The endpoint answers a bearer token equal to METRICS_TOKEN, or, when that setting is
empty, only clients on this machine (a scraper beside the server, or through the proxy's own
rule): it names endpoints and queue sizes, which outsiders need not see."""
from __future__ import annotations

import hmac
import ipaddress
import time

from flask import Blueprint, Flask, abort, current_app, g, request

from engine import metrics

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    if not app.config.get("METRICS", True):
        return
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)


def _start_timer():
    g.metrics_started = time.perf_counter()


def _observe(response):
    started = g.pop("metrics_started", None)
    if started is not None and request.endpoint != "metrics.scrape":
        rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
        metrics.observe_request(rule, request.method, response.status_code, time.perf_counter() - started)
    return response


@bp.get("/metrics")
def scrape():
    if not _allowed():
        abort(404)
    body, content_type = metrics.exposition(current_app.extensions["gridflow.sessions"],
                                            current_app.extensions["gridflow.runtime"].clock)
    return current_app.response_class(body, mimetype=None, content_type=content_type)


def _allowed() -> bool:
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
