"""Rate limits per client address on public endpoints (settings RATE_LIMIT_INTAKE and
RATE_LIMIT_TRACKING); the view says how a 429 looks in its own format."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import current_app, request

from engine.public.ratelimit import hit, parse_limit

from web.db import runtime


def client_address() -> str:
    """The TCP peer, or with RATE_LIMIT_PROXIES = n the address the n-th proxy from us saw."""
    proxies = int(current_app.config.get("RATE_LIMIT_PROXIES") or 0)
    if proxies > 0:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.remote_addr or "unknown"


def rate_limited(bucket: str, too_many: Callable[[int], object]):
    """Count the request in ``bucket`` (INTAKE or TRACKING); over the limit, answer
    ``too_many(retry_after)`` with a Retry-After header instead of running the view."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            limit = parse_limit(current_app.config.get(f"RATE_LIMIT_{bucket}"))
            if limit is not None:
                rt = runtime()
                verdict = hit(current_app.extensions["gridflow.sessions"], limit,
                              f"{bucket}:{client_address()}", rt.clock())
                if not verdict.allowed:
                    response = current_app.make_response(too_many(verdict.retry_after))
                    response.status_code = 429
                    response.headers["Retry-After"] = str(verdict.retry_after)
                    return response
            return view(*args, **kwargs)
        return wrapper
    return decorate
