"""`gridflow processes simulate DIR [--days N]`: what the files in DIR would have done to the cases of
the last N days, as a readable report whose last line is JSON. Nothing is written."""
from __future__ import annotations

import json
from pathlib import Path

import click

from engine.errors import EngineError
from engine.process import deploy as process_service
from engine.spiff import ProcessError


@click.command("simulate")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3660),
              help="Replay the cases reported in the last DAYS days.")
@click.pass_obj
def simulate_command(ctx, folder: Path, days: int):
    """Replay the last DAYS days of cases against the process files in FOLDER; the last line is JSON."""
    from engine.lifecycle.simulation import simulate

    try:
        files = process_service.read_files([folder])
    except ProcessError as exc:
        raise click.ClickException(str(exc)) from None
    with ctx.sessions() as session:
        try:
            result = simulate(session, ctx.rt, files, days)
        except EngineError as exc:
            for problems in getattr(exc, "errors", {}).values():
                for problem in problems:
                    click.echo(f"  ✗ {problem}", err=True)
            raise click.ClickException(f"{folder}: {exc.message}") from None
        finally:
            session.rollback()  # a simulation writes nothing; leave no transaction open either
    summary = result.summary()
    for line in report(summary, result.since):
        click.echo(line)
    click.echo(json.dumps(summary, ensure_ascii=False))


def report(s: dict, since) -> list[str]:
    """The simulation's figures as lines a designer reads."""
    lines = [f"{s['cases']} case(s) reported since {since:%Y-%m-%d %H:%M} UTC ({s['days']} days), against v{s['version']}: "
             f"{s['cases_replayed']} replayed, {s['not_replayed']} not reproduced by their own version "
             f"({s['groups']} replays, {s['seconds']} s)", "",
             f"Routing of the {s['dispatched']} dispatched case(s), now → draft "
             f"({s['department_changes']} would go elsewhere):"]
    rows = sorted(s["routing"], key=lambda r: (r[0] == r[1], -r[2]))
    lines += [f"  {_unit(a):>12} → {_unit(b):<12} {n:>7}{'  changed' if a != b else ''}" for a, b, n in rows] or ["  none"]
    lines.append(f"Not dispatched (yet): {s['not_dispatched']}")
    decisions = ", ".join(f"{task}: {n}" for task, n in sorted(s["decisions"].items())) or "none"
    lines += ["", f"Decisions the draft changes (cases): {decisions}", "",
              f"Deadlines that move: {s['deadline_changes']} case(s)"]
    lines += [f"  {task:<20} {v['later']:>7} later {v['earlier']:>7} earlier" for task, v in s["deadlines"].items()]
    lines += [f"Closed cases: {s['on_time_to_late']} on time would be late, "
              f"{s['late_to_on_time']} late would be on time", "",
              f"Flow: {s['flow']['same']} the same path, {s['flow']['other_path']} another path, "
              f"{s['flow']['stops']} stop, {s['flow']['not_replayed']} not replayed"]
    lines += [f"  {what:<13} at {element or '(start)':<28} {n:>7}" for what, element, n in s["flow"]["where"]]
    return lines


def _unit(value: str | None) -> str:
    """A routing outcome as the report prints it: a department code, or the level it names instead."""
    if value is None:
        return "(no routing)"
    return f"({value[1:] or 'none'})" if value.startswith("@") else value
