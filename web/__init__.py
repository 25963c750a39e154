"""gridflow's web layer: the Flask app factory, blueprints, schemas and the CLI."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from flask import Flask, request, session
from flask_babel import Babel

from engine.process.labels import ProcessLabels
from engine.assembly import make_runtime
from engine.settings import load_settings

from web import security
from web.basemap import read_basemap

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def create_app(settings: dict | None = None, *, clock: Callable[[], datetime] | None = None) -> Flask:
    """Build the app from config.toml, the environment and ``settings``; start no scheduler."""
    app = Flask(__name__)
    config = load_settings(settings)
    app.config.update(config)
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=float(config.get("SESSION_MAX_HOURS", 12)))
    # Flask defines SESSION_COOKIE_SAMESITE as None, so a setdefault would never apply.
    app.config["SESSION_COOKIE_SAMESITE"] = config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    security.check_secret_key(config, app.logger)
    _check_rate_limits(config)
    app.extensions["gridflow.basemap"] = read_basemap(config)  # a basemap that cannot be drawn stops here
    # A request body larger than this is refused before it is read (photos are the largest).
    max_photo = int(config.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
    app.config["MAX_CONTENT_LENGTH"] = max_photo * 10 + 1024 * 1024
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config["BABEL_DEFAULT_TIMEZONE"] = config.get("TIMEZONE", "UTC")
    app.extensions["gridflow.runtime"] = make_runtime(config, clock=clock)
    app.extensions["gridflow.runtime"].warn_about_calendar()
    app.extensions["gridflow.labels"] = ProcessLabels(config["PROCESSES_DIR"])

    Babel(app, locale_selector=_select_locale)

    from web import db
    db.init_app(app)
    from web import metrics
    metrics.init_app(app)  # first, so that its timing covers the requests security refuses
    security.init_app(app)

    from web.api import core as api
    from web import auth
    from web.pages import home
    from web.public import open311
    from web import pages
    from web import present, wording
    from web.public import i18n as public_i18n
    from web.public import track
    app.register_blueprint(api.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(open311.bp)
    app.register_blueprint(track.bp)
    app.jinja_env.globals.update(present.template_helpers(), csrf_token=auth.csrf_token)
    app.jinja_env.globals.update(wording.template_helpers())
    app.jinja_env.filters["translated"] = wording.translated
    app.jinja_env.add_extension("jinja2.ext.do")
    public_i18n.init_app(app)
    return app


def _check_rate_limits(config: dict) -> None:
    """A mistyped RATE_LIMIT_* stops the app at start (SettingsError naming it), not each request."""
    from engine.public.ratelimit import parse_limit
    from engine.settings import SettingsError
    for key, value in config.items():
        if key.startswith("RATE_LIMIT_") and key != "RATE_LIMIT_PROXIES":
            try:
                parse_limit(value)
            except SettingsError as exc:
                raise SettingsError(f"{key}: {exc}") from None


def _select_locale() -> str:
    """The signed-in user's language, else the one switched to in this browser, else the city's default."""
    from flask import current_app, g

    from web.public.i18n import PUBLIC_BLUEPRINTS, current_lang
    if request.blueprint in PUBLIC_BLUEPRINTS:  # residents: ?lang=, else their browser's language
        return current_lang()
    languages = current_app.config.get("LANGUAGES", ["zh", "en"])
    user = g.get("user")
    if user is not None and user.locale in languages:  # remembered on the user, on every device
        return user.locale
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_app.config.get("LOCALE_FROM_BROWSER", False):
        best = request.accept_languages.best_match(languages)
        if best:
            return best
    return current_app.config.get("DEFAULT_LOCALE", "zh")
