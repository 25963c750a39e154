"""Dependencies point one way: web → engine → models; only engine/spiff imports SpiffWorkflow."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: str):
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module.split(".")[0]


def test_models_import_neither_flask_nor_the_engine_nor_spiff():
    bad = [(p.name, m) for p, m in imported_modules("models")
           if m in {"flask", "werkzeug", "SpiffWorkflow", "engine", "web"}]
    assert bad == []


def test_engine_does_not_import_flask_or_web():
    bad = [(p.name, m) for p, m in imported_modules("engine") if m in {"flask", "werkzeug", "web"}]
    assert bad == []


def test_only_the_facade_imports_spiffworkflow():
    users = {p.relative_to(ROOT).as_posix() for p, m in
             [*imported_modules("engine"), *imported_modules("web"), *imported_modules("models")]
             if m == "SpiffWorkflow"}
    assert users and all(u.startswith("engine/spiff/") for u in users)
