"""`gridflow audit verify [--from N]`: check the case events' hash chains and record how far they are intact."""
from __future__ import annotations

import getpass
import sys

import click

from engine.assessment.trail import verify_chain
from engine.errors import EngineError


@click.group()
def audit():
    """The case events' hash chains."""


@audit.command("verify")
@click.option("--from", "from_id", type=click.IntRange(1), default=None,
              help="Continue from this earlier intact check (its number): check only the events after its mark.")
@click.pass_obj
def audit_verify(ctx, from_id: int | None):
    """Check every case's event chain; name the first event changed, removed or inserted (exit 1)."""
    with ctx.sessions() as session:
        try:
            result = verify_chain(session, ctx.rt, from_id=from_id, by=getpass.getuser())
        except EngineError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)
        session.commit()
    run = result.record
    for problem in result.problems[:50]:
        click.echo(f"broken: {problem.text}", err=True)
    if result.problems:
        more = len(result.problems) - 50
        click.echo(f"check {run.id}: {run.events_checked} event(s) checked, {len(result.problems)} problem(s)"
                   + (f" ({more} more not shown)" if more > 0 else "")
                   + (f"; the first is event #{run.first_bad_event_id}" if run.first_bad_event_id else ""), err=True)
        sys.exit(1)
    up_to = f"event #{run.up_to_event_id} ({run.up_to_at.isoformat()})" if run.up_to_event_id else "no event yet"
    click.echo(f"check {run.id}: {run.events_checked} event(s) checked, the trail is intact up to {up_to}; "
               f"continue later with `gridflow audit verify --from {run.id}`")
