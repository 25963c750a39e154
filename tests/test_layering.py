"""The import contracts in pyproject.toml ([tool.importlinter]) hold: web → engine → models and the rest."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# `-c` puts the working directory first on sys.path, so the contracts are checked against this
# checkout rather than whichever one the virtualenv's editable install points at.
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def test_the_import_contracts_hold():
    run = subprocess.run([sys.executable, "-c", LINT, "--no-cache", "--no-logo"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"an import contract is broken:\n{run.stdout}{run.stderr}"
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    assert f"{len(contracts)} kept, 0 broken" in run.stdout, run.stdout
