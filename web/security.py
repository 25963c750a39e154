"""Safe defaults for every response and request: a secret key that is not the published one,
security headers, the reverse-proxy view of the client, and no control characters in text input."""
from __future__ import annotations

import re

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix

# The key config.toml ships; anyone can read it, so it signs sessions only in demo mode.
SHIPPED_SECRET_KEY = "gridflow-demo-secret-change-me"
MIN_SECRET_KEY = 32
# Control characters no text field needs; tab, newline and carriage return are allowed because
# multi-line fields (descriptions, comments) carry them and single-line fields are trimmed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_ECHO = 80  # characters of a refused value shown back; errors never echo a whole body


class InsecureConfiguration(RuntimeError):
    """A setting would make the deployment unsafe (the published secret key, say)."""


def secret_page(html: str, status: int = 200):
    """A page that shows a secret once (an initial code, a set-password link, a reporter's
    tracking link, the form that carries a code): no cache, shared or private, may keep it."""
    page = current_app.make_response((html, status))
    page.headers["Cache-Control"] = "no-store"
    return page


def check_secret_key(config: dict, log) -> None:
    """Refuse the shipped or a short SECRET_KEY unless DEMO is on; in demo mode warn loudly."""
    key = str(config.get("SECRET_KEY") or "")
    weak = key == SHIPPED_SECRET_KEY or len(key) < MIN_SECRET_KEY
    if not weak:
        return
    if config.get("DEMO"):
        log.warning("DEMO MODE: sessions are signed with %s SECRET_KEY; anyone can forge them. "
                    "Set GRIDFLOW_SECRET_KEY (at least %d random characters) and GRIDFLOW_DEMO=false "
                    "before real people use this server.",
                    "the published" if key == SHIPPED_SECRET_KEY else "a short", MIN_SECRET_KEY)
        return
    raise InsecureConfiguration(
        f"SECRET_KEY is {'the value published in config.toml' if key == SHIPPED_SECRET_KEY else 'shorter than %d characters' % MIN_SECRET_KEY}; "
        f"set GRIDFLOW_SECRET_KEY to at least {MIN_SECRET_KEY} random characters "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'), or GRIDFLOW_DEMO=true for a demo")


def init_app(app: Flask) -> None:
    """Wrap the app for its proxies and add the request check and the response headers."""
    proxy = app.config.get("PROXY_FIX") or {}
    if proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, **{k: int(v) for k, v in proxy.items()})
    app.before_request(bound_json_body)
    app.before_request(refuse_control_characters)
    app.after_request(add_security_headers)


def add_security_headers(response):
    """Forbid framing, sniffing, inline script and cross-site referrers; name no server software."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", current_app.config.get("CONTENT_SECURITY_POLICY")
                       or "default-src 'self'; frame-ancestors 'none'")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers["Server"] = "gridflow"
    return response


def bound_json_body():
    """Refuse a JSON body over MAX_JSON_BYTES (413) before it is parsed; uploads have their own limit,
    and so do the studio's drafts (the process files, STUDIO_MAX_DRAFT_BYTES)."""
    setting = "STUDIO_MAX_DRAFT_BYTES" if request.endpoint == "pages.studio_save_draft" else "MAX_JSON_BYTES"
    limit = int(current_app.config.get(setting) or 0)
    if limit and request.is_json and (request.content_length or 0) > limit:
        from web.api.core import problem
        message = f"A JSON body may be at most {limit} bytes."
        return problem(413, "too_large", message, {"_body": [message]})
    return None


def _strings(value, name: str):
    """Yield (field name, string) for every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{name}.{key}" if name else str(key), str(key)
            yield from _strings(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{name}[{i}]")


def _offending_field() -> str | None:
    if _CONTROL.search(request.path):
        return "path"
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            # werkzeug's multipart parser can give a part without a name or a value (None).
            if any(isinstance(text, str) and _CONTROL.search(text) for text in (key, value)):
                return key or "body"
    if request.is_json and request.content_length:
        try:
            body = request.get_json(silent=True)
            for name, text in _strings(body, ""):
                if _CONTROL.search(text):
                    return name or "body"
        except RecursionError:  # absurdly deep nesting: the view's own parser refuses it
            return None
    return None


def refuse_control_characters():
    """Answer 422 naming the field when any text input holds a NUL or another control character."""
    if request.endpoint == "static":
        return None
    name = _offending_field()
    if name is None:
        return None
    name = name[:MAX_ECHO]
    message = "Text may not contain control characters (NUL and the like; tab and line breaks are fine)."
    if request.path.startswith("/open311/"):  # Open311 answers input errors as 400 in its own shape
        from web.public.open311 import errors
        return errors(400, [f"{name}: {message}"])
    if request.path.startswith("/api/"):
        from web.api.core import problem
        return problem(422, "invalid_input", f"{name}: {message}", {name: [message]})
    body = render_template("error.html", status=422, title=_("Invalid input"),
                           message=_("The field %(field)s contains control characters; remove them and "
                                     "send the form again.", field=name))
    return body, 422
