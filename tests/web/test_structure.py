"""The web layer reaches the database only through the engine: no module under web/ imports models."""
from __future__ import annotations

from tests.test_layering import ROOT, imported_modules


def test_web_does_not_import_models():
    bad = [p.relative_to(ROOT).as_posix() for p, m in imported_modules("web") if m == "models"]
    assert bad == []


def test_page_and_api_modules_stay_small():
    big = [(p.relative_to(ROOT).as_posix(), n) for folder in ("web/pages", "web/api")
           for p in sorted((ROOT / folder).rglob("*.py")) if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert big == []
