"""`gridflow city`: import a city from a folder of sheets and GeoJSON, or export the current one."""
from __future__ import annotations

import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from engine.admin.changes import record_change
from engine.access.initial import InitialCodes
from engine.city import CityError, export_city, import_city


@click.group()
def city():
    """The city's org tree, departments, categories and users as files."""


@city.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the files and print what would change; write nothing.")
@click.option("--demo-password", is_flag=True,
              help="Give new users the demo's shared password 'gridflow-demo' (local demos only).")
@click.pass_obj
def city_import(ctx, folder: Path, dry_run: bool, demo_password: bool):
    """Check every file in FOLDER, then add, update and deactivate to match it, all or nothing."""
    from demo.loader import DEMO_PASSWORD

    with ctx.sessions() as session:
        try:
            result = import_city(session, folder, grid_code_length=ctx.settings["GRID_CODE_LENGTH"],
                                 processes_dir=Path(ctx.settings["PROCESSES_DIR"]), dry_run=dry_run,
                                 codes=InitialCodes.from_settings(ctx.settings, ctx.rt.clock()),
                                 shared_password=DEMO_PASSWORD if demo_password else None)
        except CityError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            click.echo(f"{len(exc.problems)} problem(s); nothing was changed", err=True)
            sys.exit(1)
        for change in result.changes:
            click.echo(change)
        if dry_run:
            click.echo(f"dry run: {len(result.changes)} change(s) would be made; nothing was written")
            return
        if result.changes:  # in the admins' change history, made by the command (no user)
            record_change(session, ctx.rt, None, "import", "city", "city", "", None,
                          {"changes": result.changes, "folder": str(folder)})
        session.commit()
    click.echo(f"{len(result.changes)} change(s); the city has "
               + ", ".join(f"{n} {what}" for what, n in result.counts.items()))
    if result.passwords:
        click.echo(f"initial codes (shown once): each new user signs in with their username and code, once, "
                   f"to choose a password, before {result.codes_expire.astimezone(ZoneInfo(ctx.settings['TIMEZONE'])):%Y-%m-%d %H:%M}")
        for username, code in result.passwords.items():
            click.echo(f"  {username}\t{code}")
    elif demo_password and any(c.startswith("add user") for c in result.changes):
        click.echo(f"new users share the demo password {DEMO_PASSWORD!r} (demo only)")


@city.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def city_export(ctx, folder: Path):
    """Write the current city into FOLDER in the format `city import` reads."""
    with ctx.sessions() as session:
        names = export_city(session, folder)
    click.echo(f"wrote {', '.join(names)} to {folder}")
