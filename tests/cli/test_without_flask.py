"""The worker and the administrative commands run without loading Flask (a worker host needs no web stack)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each command in turn, in one fresh interpreter; then the Flask modules it ended up holding.
SCRIPT = """
import sys
from cli.main import main
for args in {commands!r}:
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:
        print("exit", exc.code, args)
print("loaded:", sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "flask_babel", "werkzeug")))
"""

COMMANDS = [
    ["init", "--demo"],
    ["processes", "validate"],
    ["processes", "deploy"],
    ["processes", "test", "-k", "acceptance/file"],
    ["users", "token", "clerk_dhm"],
    ["open311", "keys", "create", "resident-app"],
    ["open311", "keys", "list"],
    ["cases", "retry", "NO-SUCH-CASE"],
    ["worker", "--once"],
]


def test_worker_and_admin_commands_do_not_import_flask(run_gridflow):
    # run_gridflow empties the test database and points GRIDFLOW_DATABASE_URL at it.
    run = subprocess.run([sys.executable, "-c", SCRIPT.format(commands=COMMANDS)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "deployed grid_case v1" in run.stdout and "fired 0 case(s)" in run.stdout
    assert "no case NO-SUCH-CASE" in run.stderr  # the one command that fails, with its message
    assert run.stdout.strip().splitlines()[-1] == "loaded: []", run.stdout
