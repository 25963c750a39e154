"""The designer studio: deployed versions (who, when, hash, note, the cases on each), the
difference between two versions, downloads, and drafts edited in the browser's modeller,
checked on the server and deployed with a note; moving running cases between versions."""
from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Conflict, InputError
from engine.lifecycle import migration as migration_service
from engine.lifecycle import simulation_runs
from engine.process import diff as diff_service
from engine.process import drafts as draft_service
from engine.process import versions as version_service
from engine.scenarios import run as scenario_run

from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp, form_int, int_arg
from web.wording import translated

studio_roles = login_required(lambda: runtime().policy.studio_roles)


def _key() -> str:
    return runtime().settings["CASE_PROCESS"]


@bp.get("/studio")
@studio_roles
def studio():
    data = version_service.overview(get_session(), _key())
    return render_template("studio/versions.html", data=data, key=_key())


@bp.get("/studio/v/<int:version>")
@studio_roles
def studio_version(version: int):
    data = version_service.version_cases(get_session(), _key(), version)
    return render_template("studio/version.html", data=data, key=_key())


@bp.get("/studio/v/<int:version>/files.zip")
@studio_roles
def studio_download(version: int):
    body = version_service.version_archive(get_session(), _key(), version)
    return body, 200, {"Content-Type": "application/zip",
                       "Content-Disposition": f'attachment; filename="{_key()}-v{version}.zip"'}


@bp.get("/studio/diff")
@studio_roles
def studio_diff():
    a, b = int_arg("a"), int_arg("b")
    if not a or not b:
        abort(404)
    changes = diff_service.compare_versions(get_session(), _key(), a, b)
    return render_template("studio/diff.html", diff=changes, a=a, b=b, key=_key())


@bp.post("/studio/drafts")
@studio_roles
def studio_new_draft():
    session = get_session()
    draft = draft_service.start(session, runtime(), g.user, _key(), form_int("version"))
    session.commit()
    return redirect(url_for("pages.studio_draft", draft_id=draft.id))


@bp.get("/studio/drafts/<int:draft_id>")
@studio_roles
def studio_draft(draft_id: int):
    view = draft_service.view(get_session(), runtime(), draft_id)
    return render_template("studio/draft.html", view=view, key=_key(),
                           simulations=simulation_runs.runs_of_draft(get_session(), draft_id),
                           simulation_periods=runtime().settings.get("SIMULATION_PERIODS", [30]))


@bp.get("/studio/drafts/<int:draft_id>/files")
@studio_roles
def studio_draft_files(draft_id: int):
    view = draft_service.view(get_session(), runtime(), draft_id)
    return jsonify(files=view.files, base=view.base.version, current=view.current.version)


@bp.post("/studio/drafts/<int:draft_id>/files")
@studio_roles
def studio_save_draft(draft_id: int):
    session = get_session()
    body = request.get_json(silent=True)
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return jsonify(errors={"files": [_("Send the files as an object of file name to text.")]}), 422
    try:
        view = draft_service.save(session, runtime(), draft_id, files)
    except InputError as exc:
        session.rollback()
        return jsonify(errors={k: [translated(m) for m in v] for k, v in exc.errors.items()}), 422
    except Conflict as exc:
        session.rollback()
        return jsonify(errors={"draft": [translated(exc.message)]}), 409
    session.commit()
    return jsonify(saved_at=view.draft.saved_at.isoformat())


@bp.post("/studio/drafts/<int:draft_id>/check")
@studio_roles
def studio_check_draft(draft_id: int):
    report = draft_service.check(get_session(), runtime(), draft_id)
    return jsonify(problems=[p.__dict__ for p in report.problems], warnings=[p.__dict__ for p in report.warnings])


@bp.post("/studio/drafts/<int:draft_id>/scenarios")
@studio_roles
def studio_draft_scenarios(draft_id: int):
    """Run the draft's scenario tests (``?k=`` selects by file/name); each failure pinned to its element."""
    run = scenario_run.run_draft_pinned(get_session(), runtime(), draft_id, request.args.get("k") or None)
    return jsonify(summary=run.report.summary(), ok=run.report.ok,
                   scenarios=[o.__dict__ for o in run.outcomes], problems=[p.__dict__ for p in run.problems])


@bp.post("/studio/drafts/<int:draft_id>/deploy")
@studio_roles
def studio_deploy_draft(draft_id: int):
    session = get_session()
    rt = runtime()
    try:
        deployment = draft_service.deploy(session, rt, g.user, draft_id, request.form.get("note", ""),
                                          behind_seen=request.form.get("behind_seen") == "yes")
    except (InputError, Conflict) as exc:
        session.rollback()
        text = "; ".join(translated(m) for msgs in exc.errors.values() for m in msgs) \
            if isinstance(exc, InputError) else translated(exc.message)
        flash(text, "error")
        return redirect(url_for("pages.studio_draft", draft_id=draft_id))
    session.commit()
    flash(_("Deployed version %(version)s: new cases start on it now.", version=deployment.version.version),
          "success")
    return redirect(url_for("pages.studio_version", version=deployment.version.version))



def _chosen(text: str) -> dict[str, str]:
    """Read the mapping box: one ``old_id = new_id`` a line."""
    chosen = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        old, sep, new = line.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InputError({"map": [_("Line %(n)d: write old task id = new task id.", n=number)]})
        chosen[old.strip()] = new.strip()
    return chosen


@bp.route("/studio/migrate", methods=["GET", "POST"])
@studio_roles
def studio_migrate():
    source = request.values
    a, b = int_arg("from") or form_int("from"), int_arg("to") or form_int("to")
    mapping = source.get("map", "")
    session, rt = get_session(), runtime()
    try:
        chosen = _chosen(mapping)
        if request.method == "POST":
            if not a or not b:
                raise InputError({"from": [_("Choose the version the cases run on and the one to move them to.")]})
            moved = failed = 0
            for batch in migration_service.migrate(session, rt, migration_service.plan(
                    session, rt, _key(), a, b, chosen), g.user.username):
                session.commit()
                moved, failed = moved + len(batch.migrated), failed + len(batch.failed)
            flash(_("%(moved)d case(s) moved to version %(to)d, %(failed)d stayed.", moved=moved, to=b,
                    failed=failed), "success")
            return redirect(url_for("pages.studio_migrate", **{"from": a, "to": b, "map": mapping}))
        data = migration_service.preview(session, rt, _key(), a, b, chosen)
    except InputError as exc:
        session.rollback()
        flash("; ".join(translated(m) for msgs in exc.errors.values() for m in msgs), "error")
        return redirect(url_for("pages.studio_migrate"))
    return render_template("studio/migrate.html", data=data, key=_key(), mapping=mapping)


@bp.post("/studio/migrate/undo")
@studio_roles
def studio_undo_migration():
    session = get_session()
    try:
        result = migration_service.undo(session, runtime(), request.form.get("run", ""), g.user.username)
    except Conflict as exc:
        session.rollback()
        flash(translated(exc.message), "error")
        return redirect(url_for("pages.studio_migrate"))
    session.commit()
    flash(_("%(restored)d case(s) back on their earlier version, %(refused)d had moved on.",
            restored=len(result.restored), refused=len(result.refused)), "success")
    return redirect(url_for("pages.studio_migrate"))
