"""gridflow's web layer: the Flask app factory, blueprints, schemas and the CLI."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from flask import Flask

from engine.runtime import Runtime
from engine.settings import load_settings


def create_app(settings: dict | None = None, *, clock: Callable[[], datetime] | None = None) -> Flask:
    """Build the app from config.toml, the environment and ``settings``; start no scheduler."""
    app = Flask(__name__)
    config = load_settings(settings)
    app.config.update(config)
    app.config["JSON_AS_ASCII"] = False
    app.json.ensure_ascii = False
    app.extensions["gridflow.runtime"] = Runtime(config, clock=clock)
    app.extensions["gridflow.runtime"].warn_about_calendar()

    from . import db
    db.init_app(app)

    from . import api, home, open311, public_i18n, track
    app.register_blueprint(api.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(open311.bp)
    app.register_blueprint(track.bp)
    public_i18n.init_app(app)
    return app
