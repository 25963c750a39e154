"""The page and API modules stay small (the import rules are import-linter contracts, tests/test_layering.py)."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_page_and_api_modules_stay_small():
    big = [(p.relative_to(ROOT).as_posix(), n) for folder in ("web/pages", "web/api")
           for p in sorted((ROOT / folder).rglob("*.py")) if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert big == []
