"""The report page as an installable app that works offline: its web app manifest, its service
worker (which keeps the page's shell and static files on the phone, never an answer of the API or
anyone else's data), and the session check the page's queue makes before it sends what it kept.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import current_app, g, jsonify, request, url_for
from flask_babel import force_locale, gettext as _

from engine.lifecycle.cases import reporter_roles

from web.auth import csrf_token, login_required
from web.db import runtime
from web.pages import bp

STATIC = Path(__file__).resolve().parents[1] / "static"
WORKER = STATIC / "report-sw.js"
# What the report page loads (web/templates/base.html and report.html), kept on the phone.
SHELL_FILES = ("gridflow.css", "gridflow.js", "report-queue.js", "map.js", "favicon.svg", "vendor/htmx.min.js",
               "vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "vendor/leaflet/images/marker-icon.png",
               "vendor/leaflet/images/marker-icon-2x.png", "vendor/leaflet/images/marker-shadow.png",
               "vendor/pmtiles/pmtiles.js", "icons/report-192.png")
ICONS = (("icons/report-192.png", "192x192", "any"), ("icons/report-512.png", "512x512", "any"),
         ("icons/report-maskable-192.png", "192x192", "maskable"),
         ("icons/report-maskable-512.png", "512x512", "maskable"))
_versions: dict[tuple, str] = {}


@bp.get("/manifest.webmanifest")
def manifest():
    """The report app's manifest in ?lang= (the page links the one of its language)."""
    languages = current_app.config.get("LANGUAGES", ["zh", "en"])
    lang = request.args.get("lang") if request.args.get("lang") in languages else current_app.config.get(
        "DEFAULT_LOCALE", "zh")
    with force_locale(lang):
        body = {"name": _("gridflow reporting"), "short_name": _("Report"), "lang": lang,
                "description": _("Report what you find on patrol, also without a connection: reports wait on "
                                 "the phone and are sent when it returns."),
                "start_url": url_for("pages.report"), "scope": "/", "display": "standalone",
                "background_color": "#f5f7fa", "theme_color": "#102a43",
                "icons": [{"src": url_for("static", filename=path), "sizes": sizes, "type": "image/png",
                           "purpose": purpose} for path, sizes, purpose in ICONS]}
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from the root so that its scope can cover /report. Its first line
    names what it keeps and a version made of their contents: a changed file installs it anew."""
    kept = [name for name in SHELL_FILES if (STATIC / name).exists()]  # vendor files come from `make setup`
    config = {"version": _version([STATIC / name for name in kept]),
              "shell": [url_for("pages.report"), url_for("pages.report_area")],
              "static": [url_for("static", filename=name) for name in kept]}
    body = f"var GRIDFLOW_OFFLINE = {json.dumps(config)};\n{WORKER.read_text(encoding='utf-8')}"
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # the browser checks for a new worker on each visit
    return response


@bp.get("/report/session")
@login_required(lambda: reporter_roles(runtime().policy))
def report_session():
    """Who is signed in and the session's CSRF token, for the queue to send its reports with (a
    page kept on the phone may carry an older session's token); 401 as JSON when signed out."""
    response = jsonify({"username": g.user.username, "csrf_token": csrf_token()})
    response.headers["Cache-Control"] = "no-store"
    return response


def _version(files: list[Path]) -> str:
    stamp = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in [WORKER, *files])
    if stamp not in _versions:
        content = hashlib.sha256()
        for f in [WORKER, *files]:
            content.update(f.read_bytes())
        _versions[stamp] = content.hexdigest()[:16]
    return _versions[stamp]
