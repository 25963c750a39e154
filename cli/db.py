"""`gridflow db`: bring the database's schema to the code's revision, or say where it stands."""
from __future__ import annotations

import sys

import click

from engine.assessment.rebuild import cases_without_facts
from models import migrate


@click.group()
def db():
    """Schema migrations: upgrade, current, check."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(ctx):
    """Migrate the database to the code's schema revision, keeping its data."""
    try:
        result = migrate.upgrade(ctx.engine)
    except migrate.SchemaError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if result.stamped:
        click.echo(f"the tables predate migrations and are those of revision {migrate.BASELINE}: "
                   f"recorded the database as at {migrate.BASELINE}")
    for step in result.applied:
        click.echo(f"applied {step}")
    if result.applied or result.stamped:
        click.echo(f"now at revision {result.after}")
        with ctx.sessions() as session:
            missing = cases_without_facts(session)
        if missing:
            click.echo(f"{missing} case(s) have no assessment facts (they predate them): "
                       "`gridflow assessment rebuild` writes them from the cases' history")
    else:
        click.echo(f"already at revision {result.after}; nothing to do")


@db.command("current")
@click.pass_obj
def db_current(ctx):
    """Print the database's revision and whether it is behind, ahead or at the code's."""
    _report(ctx.engine)


@db.command("check")
@click.pass_obj
def db_check(ctx):
    """Like `current`, but exit with status 1 unless the database is at the code's revision."""
    if _report(ctx.engine) != "current":
        sys.exit(1)


def _report(engine) -> str:
    status = migrate.schema_status(engine)
    message = migrate.status_message(engine)
    click.echo(f"{status}: " + (message or f"the database is at the code's revision {migrate.head()}"))
    return status


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes, e.g. 'add case.priority'.")
def db_revision(message: str):
    """Draft a new revision from how the models differ from the schema at head (read it before committing)."""
    click.echo(f"wrote {migrate.new_revision(message)}")
