"""`gridflow assessment rebuild`: write the assessment facts of cases from their recorded history."""
from __future__ import annotations

import json

import click

from engine.assessment.rebuild import rebuild


@click.group()
def assessment():
    """Assessment facts (综合评价)."""


@assessment.command("rebuild")
@click.option("--all", "everything", is_flag=True,
              help="Clear every fact and monthly tally and rebuild them all (after changing how facts are made).")
@click.option("--cases", "codes", multiple=True, metavar="CODE", help="Only these cases (repeatable).")
@click.option("--batch", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="Cases per transaction.")
@click.pass_obj
def assessment_rebuild(ctx, everything: bool, codes: tuple[str, ...], batch: int):
    """Write the facts of the cases that have none (made before facts were kept), or of --cases, or --all.

    Each case's steps are replayed from its events through the assessment file of its own version;
    the monthly tallies follow. Last line: JSON with `cases` and `facts`."""
    if everything and codes:
        raise click.UsageError("--all and --cases exclude each other")
    done = rebuild(ctx.sessions, ctx.rt, codes=codes, everything=everything, batch=batch,
                   progress=lambda n: click.echo(f"{n} case(s) rebuilt", err=True))
    click.echo(f"rebuilt the facts of {done.cases} case(s): {done.facts} fact(s)")
    click.echo(json.dumps({"cases": done.cases, "facts": done.facts}))
