"""The `gridflow` command: init, db, city, serve, worker, processes, cases, users, open311, demo, bench.

Only `serve` and `bench web` import the web layer (inside the command), so a worker host and
the administrative commands run without Flask; tests/cli/test_without_flask.py checks that.
A little over 400 lines: click declarations, one short function per command; `db` and `city`
live in their own modules.
"""
from __future__ import annotations

import gc
import getpass
import json
import secrets
import sys
from pathlib import Path

import click
from sqlalchemy import inspect

from engine.process import deploy as process_service
from engine.access.accounts import issue_token
from demo.loader import load_demo_city
from engine.errors import EngineError
from engine.assembly import make_runtime
from engine.settings import load_settings
from engine.spiff import ProcessError
from models import drop_schema, migrate, open_database

from cli.assessment import assessment
from cli.audit import audit
from cli.city import city
from cli.db import db
from cli.simulate import simulate_command


class Context:
    """Settings, runtime and database of one CLI invocation."""

    def __init__(self):
        self.settings = load_settings()
        self.rt = make_runtime(self.settings)
        self.engine, self.sessions = open_database(self.settings["DATABASE_URL"])


def _fail(message: str, code: int = 1):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group()
@click.pass_context
def main(ctx):
    """gridflow: grid-governance case handling on BPMN and DMN."""
    # Workflows are graphs of many small objects; with the default thresholds the cyclic
    # collector walks the whole heap far too often in a long-running server or sweeper.
    gc.set_threshold(50_000, 20, 20)
    ctx.obj = Context()


@main.command()
@click.option("--demo", is_flag=True, help="Load the demo city and deploy processes/.")
@click.option("--force", is_flag=True, help="Drop an existing gridflow schema first.")
@click.pass_obj
def init(ctx: Context, demo: bool, force: bool):
    """Create the database schema (and with --demo, the demo city)."""
    existing = inspect(ctx.engine).get_table_names()
    if existing and not force:
        _fail(f"the database at {ctx.engine.url.render_as_string(hide_password=True)} already has "
              f"{len(existing)} tables; nothing was changed. Use --force to drop and recreate them.")
    if existing:
        drop_schema(ctx.engine)
    migrate.upgrade(ctx.engine)
    click.echo(f"created schema in {ctx.engine.url.render_as_string(hide_password=True)}")
    if demo:
        with ctx.sessions() as session:
            summary = load_demo_city(session, ctx.settings["GRID_CODE_LENGTH"])
            files = process_service.read_files([ctx.settings["PROCESSES_DIR"]])
            deployment = process_service.deploy(session, ctx.rt, files, ctx.settings["CASE_PROCESS"])
            session.commit()
        units = ", ".join(f"{n} {level}" for level, n in sorted(summary.org_units.items()))
        click.echo(f"demo city: {units}; {summary.departments} departments; "
                   f"{summary.categories} categories; {summary.users} users")
        click.echo(f"deployed {deployment.version.key} v{deployment.version.version}")
        click.echo(f"demo users share the password {summary.password!r} (demo only; see README)")


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default: HOST setting).")
@click.option("--port", default=None, type=int, help="Port (default: PORT setting).")
@click.option("--no-sweep", is_flag=True, help="Start no sweep worker beside the web workers (run `gridflow worker`).")
@click.option("--dev", is_flag=True, help="Werkzeug's single-process development server (reloads nothing; local use only).")
@click.pass_obj
def serve(ctx: Context, host: str | None, port: int | None, no_sweep: bool, dev: bool):
    """Serve the web app with gunicorn; one sweep worker runs beside it unless --no-sweep."""
    from engine.settings import SettingsError
    from web import create_app
    from web.basemap import read_basemap
    from web.security import InsecureConfiguration, check_secret_key

    if problem := migrate.status_message(ctx.engine):
        _fail(problem)
    _log_to_console(ctx.settings)
    import logging
    try:  # refuse before any worker forks, with the same message create_app would give
        check_secret_key(ctx.settings, logging.getLogger("gridflow"))
        read_basemap(ctx.settings)
    except (InsecureConfiguration, SettingsError) as exc:
        _fail(str(exc))
    host, port = host or ctx.settings["HOST"], port or ctx.settings["PORT"]
    if dev or sys.platform == "win32":  # gunicorn needs fork (Linux, macOS)
        from werkzeug.serving import run_simple

        from engine.scheduler import start_sweeper
        app = create_app()
        if not no_sweep:
            start_sweeper(app.extensions["gridflow.sessions"], app.extensions["gridflow.runtime"])
        run_simple(host, port, app, threaded=True)
        return
    from cli.server import GridflowServer, share_metrics
    share_metrics(ctx.settings)
    ctx.engine.dispose()  # no pooled connection may cross the fork into the workers
    GridflowServer(ctx.settings, f"{host}:{port}", sweep=not no_sweep).run()


@main.command()
@click.option("--once", is_flag=True, help="Fire what is due now, apply the retention settings, and exit.")
@click.option("--parent", type=int, default=None,
              help="Stop (as on SIGTERM) once process PARENT is no longer this worker's parent (`serve` passes its pid).")
@click.pass_obj
def worker(ctx: Context, once: bool, parent: int | None):
    """Fire due timers on an interval (sweep only; run as many as you like)."""
    from engine.scheduler import drain, start_sweeper

    _log_to_console(ctx.settings)
    ctx.rt.warn_about_calendar()
    if once:
        result = drain(ctx.sessions, ctx.rt)
        click.echo(f"fired {result.fired} case(s); {result.conflicts} conflict(s); "
                   f"{len(result.incidents)} incident(s)")
        for incident in result.incidents:
            click.echo(f"  incident: {incident}", err=True)
        from engine.outbound.retention import prune
        pruned = prune(ctx.sessions, ctx.rt)
        click.echo(f"pruned {pruned.notifications} notification(s) and {pruned.deliveries} webhook delivery(ies)")
        return
    click.echo(f"sweeping every {ctx.settings['SWEEP_INTERVAL']} s; Ctrl+C or SIGTERM to stop")
    import signal
    # SIGTERM (from `serve`, systemd or docker) ends the loop like Ctrl+C: the sweep in progress
    # finishes its current case's transaction before the process exits.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if parent is not None:
        _stop_when_orphaned(parent)
    try:
        start_sweeper(ctx.sessions, ctx.rt, blocking=True)
    except (KeyboardInterrupt, SystemExit):
        click.echo("sweep worker stopped")


def _stop_when_orphaned(parent: int, every: float = 1.0) -> None:
    """Watch, in a daemon thread, that ``parent`` is still this process's parent; when it is not
    (the server died without stopping us), send ourselves SIGTERM so the sweep stops as usual."""
    import os
    import signal
    import threading

    def watch():
        while os.getppid() == parent:
            threading.Event().wait(every)
        click.echo(f"the server (pid {parent}) is gone; stopping the sweep worker", err=True)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _log_to_console(settings):
    from cli import logs
    logs.configure(settings)


@main.group()
def processes():
    """Check and deploy the BPMN/DMN files."""


@processes.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.pass_obj
def processes_validate(ctx: Context, paths):
    """Parse and check BPMN/DMN files and the policy files (default: the processes folder)."""
    try:
        files = process_service.read_files(list(paths) or [ctx.settings["PROCESSES_DIR"]])
    except ProcessError as exc:
        _fail(str(exc))
    required = ctx.settings["CASE_PROCESS"] if not paths else None
    # With a city in the database, department and category codes are checked against it too.
    with ctx.sessions() as session:
        city = session if inspect(ctx.engine).has_table("department") else None
        report = process_service.check(ctx.rt, files, required=required, session=city)
    problems = report.problems
    for problem in problems:
        click.echo(f"  ✗ {problem}", err=True)
    for warning in report.warnings:
        click.echo(f"  ! {warning}", err=True)
    if problems:
        _fail(f"{len(problems)} problem(s) in {len(files)} file(s)")
    click.echo(f"ok: {len(files)} file(s) valid: {', '.join(sorted(files))}")


@processes.command("deploy")
@click.option("--note", default="", help="What this version changes (shown in the studio's version list).")
@click.pass_obj
def processes_deploy(ctx: Context, note: str):
    """Store a new process version when the files in the processes folder changed."""
    files = process_service.read_files([ctx.settings["PROCESSES_DIR"]])
    with ctx.sessions() as session:
        try:
            deployment = process_service.deploy(session, ctx.rt, files, ctx.settings["CASE_PROCESS"],
                                                deployed_by=f"cli:{getpass.getuser()}", note=note)
        except ProcessError as exc:
            _fail(str(exc))
        session.commit()
        v = deployment.version
        state = "deployed new version" if deployment.created else "unchanged, still"
        click.echo(f"{state} {v.key} v{v.version} ({v.content_hash[:12]})")


@processes.command("export")
@click.argument("version", type=click.IntRange(1))
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def processes_export(ctx: Context, version: int, folder: Path):
    """Write deployed VERSION's files into FOLDER (e.g. processes/, to commit them)."""
    from engine.process import versions as version_service

    with ctx.sessions() as session:
        try:
            written = version_service.export(session, ctx.settings["CASE_PROCESS"], version, folder)
        except EngineError as exc:
            _fail(exc.message)
    click.echo(f"wrote {len(written)} file(s) of {ctx.settings['CASE_PROCESS']} v{version} to {folder}: "
               + ", ".join(p.relative_to(folder).as_posix() for p in written))


processes.add_command(simulate_command)


@processes.command("migrate")
@click.option("--from", "from_version", required=True, type=click.IntRange(1), help="The version the cases run on.")
@click.option("--to", "to_version", required=True, type=click.IntRange(1), help="The version to move them to.")
@click.option("--dry-run", is_flag=True, help="Only say, per case, whether it can move and why not.")
@click.option("--cases", "codes", multiple=True,
              help="Only these cases (repeat, or separate by commas); default: every open case on --from.")
@click.option("--map", "mapping", multiple=True, metavar="OLD=NEW",
              help="Move tasks of id OLD onto task NEW of --to (for a task whose id changed).")
@click.option("--by", default=None, help="Who moves them, for the cases' timelines (default: your login name).")
@click.pass_obj
def processes_migrate(ctx: Context, from_version: int, to_version: int, dry_run: bool, codes, mapping, by):
    """Move running cases from one process version to another; the last line is JSON."""
    from engine.lifecycle import migration

    chosen = {}
    for pair in mapping:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            _fail(f"--map {pair!r}: write OLD=NEW (a task id of version {from_version}, one of {to_version})")
        chosen[old.strip()] = new.strip()
    wanted = [c for item in codes for c in item.replace(",", " ").split()] or None
    with ctx.sessions() as session:
        try:
            moving = migration.plan(session, ctx.rt, ctx.settings["CASE_PROCESS"], from_version, to_version, chosen)
            if dry_run:
                fits = migration.dry_run(session, ctx.rt, moving, wanted)
                for fit in fits:
                    click.echo(f"{fit.code}: " + ("can move" if fit.can_migrate else "stays: " + "; ".join(fit.reasons)))
                click.echo(json.dumps({"dry_run": True, "can_migrate": sum(f.can_migrate for f in fits),
                                       "refused": sum(not f.can_migrate for f in fits)}))
                return
            migrated = failed = 0
            run = None
            for batch in migration.migrate(session, ctx.rt, moving, by or getpass.getuser(), wanted):
                session.commit()
                run = batch.run
                migrated += len(batch.migrated)
                failed += len(batch.failed)
                for fit in batch.failed:
                    click.echo(f"{fit.code}: stays: " + "; ".join(fit.reasons))
                click.echo(f"batch: {len(batch.migrated)} moved, {len(batch.failed)} stayed", err=True)
        except EngineError as exc:
            session.rollback()
            _fail(_message_text(exc))
    click.echo(json.dumps({"migrated": migrated, "failed": failed, "run": run,
                           "from_version": from_version, "to_version": to_version}))


@processes.command("undo-migration")
@click.argument("run")
@click.option("--by", default=None, help="Who undoes it, for the cases' timelines (default: your login name).")
@click.pass_obj
def processes_undo_migration(ctx: Context, run: str, by: str | None):
    """Put the cases of migration RUN back on their earlier version (within MIGRATION_UNDO_DAYS)."""
    from engine.lifecycle import migration

    with ctx.sessions() as session:
        try:
            result = migration.undo(session, ctx.rt, run, by or getpass.getuser())
        except EngineError as exc:
            session.rollback()
            _fail(_message_text(exc))
        session.commit()
    for fit in result.refused:
        click.echo(f"{fit.code}: stays: " + "; ".join(fit.reasons))
    click.echo(json.dumps({"restored": len(result.restored), "refused": len(result.refused)}))


@processes.command("test")
@click.argument("folder", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("-k", "pattern", default=None, help="Only scenarios whose FILE/NAME contains this (or matches it as a glob).")
@click.option("--version", "version", default=None, type=click.IntRange(1), help="Test deployed VERSION's files instead of a folder.")
@click.option("--draft", "draft", default=None, type=click.IntRange(1), help="Test a studio draft's files instead of a folder.")
@click.option("--require-coverage", is_flag=True, help="Fail when a sequence flow of the case process is taken by no scenario.")
@click.pass_obj
def processes_test(ctx: Context, folder: str | None, pattern: str | None, version: int | None, draft: int | None,
                   require_coverage: bool):
    """Run the scenario tests (FOLDER/scenarios/*.toml, default the processes folder) on a throwaway
    copy of SCENARIO_CITY; one line per scenario, the last line is JSON."""
    from engine.scenarios import run as scenario_run

    if sum(x is not None for x in (folder, version, draft)) > 1:
        _fail("give a FOLDER, --version or --draft, not more than one")
    try:
        if version is not None or draft is not None:
            with ctx.sessions() as session:
                report = (scenario_run.run_version(session, ctx.rt, version, pattern) if version is not None
                          else scenario_run.run_draft(session, ctx.rt, draft, pattern))
        else:
            report = scenario_run.run_folder(ctx.settings, folder or ctx.settings["PROCESSES_DIR"], pattern)
    except (EngineError, ProcessError) as exc:
        _fail(_message_text(exc) if isinstance(exc, EngineError) else str(exc))
    for problem in report.problems:
        click.echo(f"  ✗ {problem}", err=True)
    for outcome in report.outcomes:
        click.echo(("✓ " if outcome.passed else "✗ ") + outcome.text)
    if report.uncovered:
        click.echo(f"not taken by any scenario: {', '.join(report.uncovered)}", err=True)
    click.echo(json.dumps(report.summary(), ensure_ascii=False))
    if not report.ok or (require_coverage and report.uncovered) or (pattern and not report.outcomes):
        sys.exit(1)


def _message_text(exc: EngineError) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        return "; ".join(f"--{name}: {'; '.join(texts)}" for name, texts in errors.items())
    return exc.message


@processes.command("lint-config")
@click.pass_obj
def processes_lint_config(ctx: Context):
    """Print the .bpmnlintrc for the processes folder (recommended rules and gridflow's own)."""
    from engine.process.lint import lint_config

    click.echo(json.dumps(lint_config(ctx.rt.policy), ensure_ascii=False, indent=2))


@main.group()
def cases():
    """Operate on cases."""


@cases.command("retry")
@click.argument("code")
@click.pass_obj
def cases_retry(ctx: Context, code: str):
    """Run CODE's failed step again: the failed task completion, or its timers (after fixing what failed)."""
    from sqlalchemy import select

    from engine.lifecycle.sweep import retry_incident
    from models import Case

    with ctx.sessions() as session:
        case = session.scalars(select(Case).where(Case.code == code)).first()
        if case is None:
            _fail(f"no case {code}")
        if case.incident is None:
            _fail(f"case {code} has no incident")
        try:
            retry_incident(session, ctx.rt, case)
        except EngineError as exc:
            session.rollback()
            _fail(f"still failing: {exc.message}")
        session.commit()
    click.echo(f"case {code}: incident cleared, failed step run again; stage {case.stage}")


@cases.command("migrate")
@click.argument("code")
@click.option("--to-version", "to_version", required=True, type=click.IntRange(1),
              help="The version of the case's process to move it to (e.g. the one that fixes its incident).")
@click.option("--by", default=None, help="Who moves it, for the case's timeline (default: your login name).")
@click.pass_obj
def cases_migrate(ctx: Context, code: str, to_version: int, by: str | None):
    """Move CODE onto another version of its process, all or nothing (then `cases retry` a stuck one)."""
    import getpass

    from sqlalchemy import select

    from engine.lifecycle.incidents import migrate_case
    from models import Case

    with ctx.sessions() as session:
        case = session.scalars(select(Case).where(Case.code == code)).first()
        if case is None:
            _fail(f"no case {code}")
        try:
            migrate_case(session, ctx.rt, case, to_version, by or getpass.getuser())
        except EngineError as exc:
            session.rollback()
            _fail(exc.message)
        session.commit()
    click.echo(f"case {code}: now on version {to_version}; stage {case.stage}"
               + (f"; incident still open, run `gridflow cases retry {code}`" if case.incident else ""))


@main.group()
def users():
    """Manage users and their API tokens."""


@users.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
@click.pass_obj
def users_token(ctx: Context, username: str, name: str):
    """Print a new API token for USERNAME (shown once)."""
    with ctx.sessions() as session:
        try:
            token = issue_token(session, ctx.rt, username, name)
        except EngineError as exc:
            _fail(exc.message)
        session.commit()
    click.echo(token)


@main.group()
def open311():
    """Open311 GeoReport v2 clients."""


@open311.group("keys")
def open311_keys():
    """API keys of Open311 clients (resident apps): create, list, revoke."""


@open311_keys.command("create")
@click.argument("name")
@click.pass_obj
def open311_keys_create(ctx: Context, name: str):
    """Register client NAME and print its API key (shown once)."""
    from engine.access.links import create_open311_client

    with ctx.sessions() as session:
        try:
            key = create_open311_client(session, ctx.rt, name)
        except EngineError as exc:
            _fail(exc.message)
        session.commit()
    click.echo(key)


@open311_keys.command("revoke")
@click.argument("name")
@click.pass_obj
def open311_keys_revoke(ctx: Context, name: str):
    """Revoke client NAME's key; its requests stay."""
    from engine.access.links import revoke_open311_client

    with ctx.sessions() as session:
        try:
            revoke_open311_client(session, ctx.rt, name)
        except EngineError as exc:
            _fail(exc.message)
        session.commit()
    click.echo(f"revoked the Open311 key of {name}")


@open311_keys.command("list")
@click.pass_obj
def open311_keys_list(ctx: Context):
    """List clients with when their key was created, last used and revoked."""
    from engine.access.links import open311_clients

    stamp = lambda dt: dt.isoformat(timespec="seconds") if dt else "-"
    with ctx.sessions() as session:
        for c in open311_clients(session):
            click.echo(f"{c.name}\tcreated {stamp(c.created_at)}\tlast used {stamp(c.last_used_at)}"
                       f"\t{'revoked ' + stamp(c.revoked_at) if c.revoked_at else 'active'}")


@main.group()
def demo():
    """Demo data beyond the demo city."""


@demo.command("generate")
@click.option("--cases", "n", required=True, type=click.IntRange(1), help="How many cases to add.")
@click.option("--seed", default=None, type=int, help="Seed for repeatable data.")
@click.pass_obj
def demo_generate(ctx: Context, n: int, seed: int | None):
    """Add N realistic cases in every stage (after `gridflow init --demo`)."""
    from demo.generate import generate_cases

    try:
        result = generate_cases(ctx.sessions, ctx.rt, n, seed=seed, echo=click.echo)
    except LookupError as exc:
        _fail(str(exc))
    click.echo(f"added {result.cases} cases ({result.open_tasks} open tasks) in {result.seconds} s: "
               + ", ".join(f"{v} {k}" for k, v in sorted(result.by_variant.items(), key=lambda kv: -kv[1])))


@main.group()
def bench():
    """Benchmarks that print figures (last line: one JSON object)."""


@bench.command("lifecycle")
@click.option("--cases", "n", default=200, show_default=True, help="How many cases to drive.")
@click.option("--keep", is_flag=True, help="Keep the benchmark's cases (deleted afterwards by default).")
@click.pass_obj
def bench_lifecycle(ctx: Context, n: int, keep: bool):
    """Drive N cases through every user task of the main path, with persistence."""
    from bench.common import run_lifecycle

    result = run_lifecycle(ctx.rt, ctx.sessions, n, echo=click.echo, keep=keep)
    click.echo(json.dumps(result))


@bench.command("timers")
@click.option("--due", "n", default=1000, show_default=True, help="How many cases with passed deadlines.")
@click.option("--spread", default=0.0, show_default=True,
              help="Make the cases due one after another over this many seconds and measure lateness "
                   "with sweeps every SWEEP_INTERVAL (a real-time run).")
@click.option("--workers", default=1, show_default=True,
              help="Sweep in this many `gridflow worker` processes at once (PostgreSQL).")
@click.option("--keep", is_flag=True, help="Keep the benchmark's cases (deleted afterwards by default).")
@click.pass_obj
def bench_timers(ctx: Context, n: int, spread: float, workers: int, keep: bool):
    """Sweep N cases whose handling deadline has passed; print timers per second."""
    from bench.timers import run_timers

    if workers > 1 and spread:
        _fail("--spread measures lateness with one in-process sweeper; leave out --workers")
    result = run_timers(ctx.rt, ctx.sessions, n, echo=click.echo, spread_seconds=spread, keep=keep,
                        workers=workers)
    click.echo(json.dumps(result))


@bench.command("city")
@click.option("--database-url", default=None,
              help="An EMPTY database to import into (default: a new SQLite file, deleted afterwards).")
@click.option("--points", default=20000, show_default=True, help="How many random points to place.")
@click.option("--scale", default=1.0, show_default=True, help="Generate this share of the full size (for quick runs).")
@click.pass_obj
def bench_city(ctx: Context, database_url: str | None, points: int, scale: float):
    """Import a generated city ten times Dongcheng's size (6,000 grids, 20,000 users), again unchanged; place points."""
    from bench.city import run_city

    try:
        result = run_city(ctx.settings, database_url=database_url, points=points, scale=scale,
                          echo=click.echo)
    except RuntimeError as exc:
        _fail(str(exc))
    click.echo(json.dumps(result))


@bench.command("migrate")
@click.option("--cases", "n", default=2000, show_default=True, help="How many open cases to move.")
@click.option("--keep", is_flag=True, help="Keep the benchmark's cases and version (deleted afterwards by default).")
@click.pass_obj
def bench_migrate(ctx: Context, n: int, keep: bool):
    """Move N open cases onto a new process version (dry run, real run, undo); print cases per second."""
    from bench.migrate import run_migrate

    click.echo(json.dumps(run_migrate(ctx.rt, ctx.sessions, n, echo=click.echo, keep=keep)))


@bench.command("simulate")
@click.option("--cases", "n", default=200_000, show_default=True, help="Cases the database must hold (generated if fewer).")
@click.option("--days", default=30, show_default=True, help="The period simulated; generated cases fall within it.")
@click.pass_obj
def bench_simulate(ctx: Context, n: int, days: int):
    """Time a simulation of a draft with a changed routing rule and time limit; the last line is JSON."""
    from bench.simulate import run_simulate

    click.echo(json.dumps(run_simulate(ctx.rt, ctx.sessions, n, days, echo=click.echo)))


@bench.command("web")
@click.option("--cases", "n", default=200_000, show_default=True, help="Cases the database must hold (generated if fewer).")
@click.option("--requests", "repeat", default=50, show_default=True, help="Requests per page; the median is reported.")
@click.pass_obj
def bench_web(ctx: Context, n: int, repeat: int):
    """Time every page and list users open at N cases (inbox, board, case search with and without
    words, case and task pages, Open311 requests, probes): server ms per path, last line JSON."""
    from bench.web_engine import ensure_cases, time_engine

    from web import create_app
    from bench.web_pages import pages_exist, time_pages

    count = ensure_cases(ctx.rt, ctx.sessions, n, echo=click.echo)
    result = {"cases": count, "database": ctx.engine.dialect.name, **time_engine(ctx.rt, ctx.sessions, repeat)}
    # The pages are served in this process only, to the benchmark's own test client: a key of its
    # own signs their sessions (the shipped one is refused outside demo mode).
    app = create_app({"DATABASE_URL": ctx.settings["DATABASE_URL"], "SECRET_KEY": secrets.token_urlsafe(48)})
    if pages_exist(app):
        result.update(time_pages(app, repeat, echo=click.echo))
    else:
        click.echo("the /inbox and /board pages do not exist yet: engine figures only")
    click.echo(json.dumps(result))


@bench.command("load")
@click.option("--database-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/gridflow_bench",
              show_default=True, help="A PostgreSQL database the benchmark may empty (it is recreated).")
@click.option("--workers", default="1,2,4", show_default=True, help="Web worker counts to measure, comma-separated.")
@click.option("--clients", default=8, show_default=True, help="Concurrent HTTP clients.")
@click.option("--seconds", default=30.0, show_default=True, help="How long the concurrent clients drive lifecycles.")
@click.option("--single-seconds", default=10.0, show_default=True, help="How long one client alone drives lifecycles.")
def bench_load(database_url: str, workers: str, clients: int, seconds: float, single_seconds: float):
    """Whole case lifecycles over HTTP against gunicorn (W web workers, 2 sweep workers) on PostgreSQL."""
    from bench.load import run_load

    try:
        counts = [int(w) for w in workers.split(",") if w.strip()]
    except ValueError:
        _fail("--workers: give whole numbers separated by commas, e.g. 1,2,4")
    if not counts or min(counts) < 1 or clients < 1:
        _fail("--workers and --clients must be at least 1")
    click.echo(json.dumps(run_load(database_url, counts, clients, seconds, single_seconds, echo=click.echo)))


@bench.command("assessment")
@click.option("--cases", "n", default=100_000, show_default=True,
              help="Benchmark cases (a year of facts) the database must hold (generated if fewer).")
@click.option("--year", default=2025, show_default=True, help="The year the generated cases fall in.")
@click.option("--requests", "repeat", default=5, show_default=True, help="Runs of each report; the median is reported.")
@click.pass_obj
def bench_assessment(ctx: Context, n: int, year: int, repeat: int):
    """Time one month's assessment by every grouping and a year's ranking at N cases."""
    from bench.assessment import ensure_facts, time_assessment

    count = ensure_facts(ctx.rt, ctx.sessions, n, year, echo=click.echo)
    result = {"cases": count, "database": ctx.engine.dialect.name,
              **time_assessment(ctx.rt, ctx.sessions, year, repeat, echo=click.echo)}
    click.echo(json.dumps(result))


main.add_command(db)
main.add_command(assessment)
main.add_command(city)
main.add_command(audit)

if __name__ == "__main__":
    main()

