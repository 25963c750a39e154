"""The report form (/report): a grid worker's patrol find or a clerk's call from a channel; after a
resident's report, the clerk gets the reporter's link and a text message to send them, once."""
from __future__ import annotations

import uuid

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _

from engine.errors import Conflict, Forbidden, InputError, Message
from engine.lifecycle import cases as case_service
from engine.lifecycle.idempotency import check_key, report_once
from engine.public.texts import public_text
from engine.queries.choices import intake_choices

from web.auth import login_required, wants_json
from web.db import get_session, runtime
from web.pages import MAX_PHOTOS, bp, photo_digests, store_photos, uploaded_photos
from web.security import secret_page
from web.wording import translated

FIELDS = ("category_code", "grid_code", "address", "lat", "lng", "coord_system", "description", "urgency", "source",
          "reporter_name", "reporter_phone")


def _intake_roles() -> tuple[str, ...]:
    return case_service.reporter_roles(runtime().policy)


@bp.get("/report")
@login_required(_intake_roles)
def report():
    return render_template("report.html", **_intake_context(get_session(), {}, {}))


@bp.post("/report")
@login_required(_intake_roles)
def report_submit():
    """Make the case; the photos with it. A request that asks for JSON (the page's offline queue,
    sending a report kept on the phone) gets the case's code, or the errors by field, as JSON."""
    session = get_session()
    rt = runtime()
    values = {k: request.form.get(k, "").strip() for k in FIELDS}
    values["self_handled"] = request.form.get("self_handled") == "on"
    report_data = {k: v for k, v in values.items() if k not in ("lat", "lng") and v not in ("",)}
    report_data["self_handled"] = values["self_handled"]
    report_data.setdefault("source", "patrol")  # a grid worker's form has no channel: the patrol
    files = uploaded_photos()
    try:
        # The form's own checks go in with the report: every error comes back at once.
        key = _idempotency_key()
        form_errors = _check_form(values, report_data)
        case, replayed = report_once(session, rt, g.user, report_data, key,
                                     lambda s, r, actor, data: case_service.report_case(s, r, actor, data, form_errors),
                                     attached=photo_digests(files))
        if not replayed:  # a second click or a resent form: the first case, its photos once
            store_photos(session, rt, case, files)
        session.commit()
    except InputError as exc:
        session.rollback()
        errors = {("photos" if k == "photo" else k): v for k, v in exc.errors.items()}
    except Forbidden as exc:
        session.rollback()
        errors = {"grid_code": [exc.message]}
    except Conflict:  # this form (its key) made a case already, with other answers
        session.rollback()
        errors = {"idempotency_key": [_("This form was already sent with other answers, as an earlier "
                                        "case. Look it up in the case list before reporting again; "
                                        "sending now makes a new case.")]}
        if wants_json():
            return _refused(errors, 409)
    else:
        if wants_json():
            return _reported(case, replayed)
        flash(_("Case %(code)s reported.", code=case.code), "success")
        if getattr(case, "tracking_secret", None):
            return _confirmation(case)
        return redirect(url_for("pages.case", code=case.code))
    if wants_json():
        return _refused(errors, 422)
    if files and not errors.get("photos"):
        errors.setdefault("photos", []).append(_("Nothing was saved; choose the photos again."))
    return render_template("report.html", **_intake_context(session, values, errors)), 422


def _idempotency_key() -> str | None:
    """The report's key: the Idempotency-Key header (the offline queue, as on the API) or the
    form's hidden field (one per form shown); both sent must be the same."""
    header, field = request.headers.get("Idempotency-Key"), request.form.get("idempotency_key") or None
    if header is not None and field is not None and header != field:
        raise InputError({"idempotency_key": [Message("The Idempotency-Key header and the form's key differ; "
                                                      "send one of them.")]})
    return check_key(header, "Idempotency-Key") if header is not None else check_key(field, "idempotency_key")


def _reported(case, replayed: bool):
    """The JSON answer to a queued report: its case (201; 200 and Idempotent-Replayed for a repeat)."""
    body = {"code": case.code, "url": url_for("pages.case", code=case.code), "replayed": replayed}
    if getattr(case, "tracking_secret", None):  # a resident's report: the link to pass on, this once
        body["tracking_url"], body["sms"] = _reporter_link(case)
    if request.headers.get("X-Report-Flash") == "true":  # the page opens the case next: it says so there
        flash(_("Case %(code)s reported.", code=case.code), "success")
    response = jsonify(body)
    response.status_code = 200 if replayed else 201
    response.headers["Cache-Control"] = "no-store"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _refused(errors: dict, status: int):
    """The JSON answer to a refused report: every error by field, in the page's language."""
    return jsonify({"errors": {k: [translated(m) for m in v] for k, v in errors.items()}}), status


def _check_form(values: dict, report_data: dict) -> dict[str, list[str]]:
    """Check what the page's form adds to the engine's rules (coordinates typed as text, the
    description's length as the form states it); put the coordinates read into ``report_data``."""
    errors: dict[str, list[str]] = {}
    for key in ("lat", "lng"):
        if values[key]:
            limit = 90 if key == "lat" else 180
            try:
                number = float(values[key])
                if not -limit <= number <= limit:
                    raise ValueError
                report_data[key] = number
            except ValueError:
                errors[key] = [_("Must be a number between -%(n)d and %(n)d.", n=limit)]
    if (values["lat"] == "") != (values["lng"] == ""):
        errors.setdefault("lng", []).append(_("Give both latitude and longitude, or neither."))
    if len(values["description"]) > 2000:
        errors["description"] = [_("At most 2000 characters.")]
    if not values["description"]:
        errors["description"] = [_("Describe what you found.")]
    if len(values["address"]) > 255:
        errors["address"] = [_("At most 255 characters.")]
    return errors


def _confirmation(case):
    """The clerk's page after recording a resident's report: the reporter's link and the text
    message to send them. The secret exists only in this answer (its hash is stored)."""
    url, sms = _reporter_link(case)
    return secret_page(render_template("report_done.html", case=case, tracking_url=url, sms=sms))


def _reporter_link(case) -> tuple[str, str]:
    """The reporter's secret link to a new resident case and the text message that carries it."""
    url = url_for("track.reporter_page", code=case.code, secret=case.tracking_secret, _external=True)
    return url, public_text(runtime().settings).sms_text(case.code, url, get_locale().language if get_locale() else "zh")


def _intake_context(session, values: dict, errors: dict) -> dict:
    rt = runtime()
    offered = intake_choices(session, g.user, rt.policy)
    # One key per form shown: submitting it twice (a double click, a resend) makes one case.
    key = (None if "idempotency_key" in errors else request.form.get("idempotency_key")) or str(uuid.uuid4())
    return {"idempotency_key": key, "max_photos": MAX_PHOTOS, "majors": offered.majors, "grid_groups": offered.grid_groups, "values": {**offered.defaults, **values},
            "errors": errors, "is_worker": offered.is_worker, "is_clerk": offered.is_clerk,
            "sources": offered.sources, "phone_examples": rt.settings.get("REPORTER_PHONE_EXAMPLES", ""),
            # A clerk records what a resident reported (a call-taker's words); a grid worker reports what they found.
            "as_clerk": offered.is_clerk and not offered.is_worker}
