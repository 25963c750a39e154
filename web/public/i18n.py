"""Language of the public pages (tracking, Open311): ``?lang=`` wins, then the browser's
preference between Chinese and English; Chinese by default. Texts are translated by the
same Flask-Babel catalogue as the staff pages."""
from __future__ import annotations

from flask import Flask, g, request

LANGS = ("zh", "en")
# Blueprints whose language follows current_lang() rather than a signed-in user's choice.
PUBLIC_BLUEPRINTS = ("track", "open311")

SATISFACTION_LABELS = {"satisfied": "Satisfied", "basically": "Basically satisfied", "dissatisfied": "Dissatisfied"}


def current_lang() -> str:
    if "public_lang" not in g:
        asked = request.args.get("lang")
        if asked in LANGS:
            g.public_lang = asked
        else:
            best = request.accept_languages.best_match(["zh", "en"], default="zh")
            g.public_lang = best if best in LANGS else "zh"
    return g.public_lang


def init_app(app: Flask) -> None:
    app.jinja_env.globals["public_lang"] = current_lang
