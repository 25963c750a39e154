"""The assessment page: a ranking with scores and grades for a period, a monthly trend and a
comparison with the previous period (ECharts, drawn by static/assessment.js), drill-down to the
cases behind each figure, and exports."""
from __future__ import annotations

from flask import abort, g, render_template, request, url_for
from flask_babel import lazy_gettext as l_

from engine.assessment import figures
from engine.assessment.periods import Period
from engine.errors import InputError
from engine.process.assessment import GROUPINGS, load_assessment

from web.api.assessment import download
from web.auth import login_required
from web.db import get_session, runtime
from web.pages import bp, int_arg, now
from web.present import lang

# The columns of the ranking table: counts and rates of the assessment file's [counts] and [rates].
COLUMNS = ("received", "filed", "filing_rate", "due_to_close", "closed", "closing_rate", "closed_on_time",
           "on_time_closing_rate", "rework_rate", "extension_rate", "return_rate", "overdue", "overdue_hours",
           "satisfaction_rate", "hotline_three_rates")
LABELS = {
    "received": l_("Received"), "filed": l_("Filed"), "filing_rate": l_("Filing rate"),
    "due_to_close": l_("Due to close"), "closed": l_("Cases closed"), "closing_rate": l_("Closing rate"),
    "closed_on_time": l_("Closed on time"), "on_time_closing_rate": l_("On-time closing rate"),
    "rework_rate": l_("Rework rate"), "extension_rate": l_("Extension rate"), "return_rate": l_("Return rate"),
    "overdue": l_("Late tasks"), "overdue_hours": l_("Hours late"), "satisfaction_rate": l_("Satisfaction rate"),
    "hotline_three_rates": l_("12345 three rates"),
}
GROUPING_LABELS = {"street": l_("Street"), "community": l_("Community"), "grid": l_("Grid"),
                   "department": l_("Department"), "person": l_("Person"), "category": l_("Category (minor)"),
                   "major": l_("Category (major)"), "source": l_("Source")}
CHART_RATES = ("closing_rate", "on_time_closing_rate", "rework_rate", "satisfaction_rate")
PERIOD_ARGS = ("from", "to", "month", "quarter", "year")


def _period_args() -> dict[str, str]:
    return {k: request.args[k] for k in PERIOD_ARGS if request.args.get(k)}


def _period() -> tuple[Period, dict]:
    """The asked period (this month when none is given), or this month and the errors."""
    today = now().astimezone(runtime().calendar.tz).date()
    try:
        return Period.parse(_period_args(), today), {}
    except InputError as exc:
        return Period.parse({}, today), exc.errors


def _by() -> str:
    by = request.args.get("by", "street")
    return by if by in GROUPINGS else "street"


@bp.app_context_processor
def _assessment_nav():
    def reads_assessment() -> bool:
        user = g.get("user")
        if user is None:
            return False
        return figures.may_read(user, load_assessment(runtime().settings["PROCESSES_DIR"]))
    return {"reads_assessment": reads_assessment}


@bp.get("/assessment")
@login_required()
def assessment():
    period, errors = _period()
    by = _by()
    data = figures.dashboard(get_session(), runtime(), g.user, period, by)
    args = dict(_period_args(), by=by)
    choices = figures.breakdown_choices(get_session(), runtime(), data.report.definitions)
    return render_template("assessment/assessment.html", data=data, report=data.report, by=by, errors=errors,
                           choices=choices,
                           columns=[c for c in COLUMNS if c in data.report.total.values], args=args,
                           labels=LABELS, grouping_labels=GROUPING_LABELS, groupings=GROUPINGS,
                           trend_json=_trend_json(data), compare_json=_compare_json(data.report),
                           month_value=request.args.get("month") or period.first.strftime("%Y-%m"))


@bp.get("/assessment/cases")
@login_required()
def assessment_cases():
    period, errors = _period()
    indicator = request.args.get("indicator", "")
    part = "denominator" if request.args.get("part") == "denominator" else "numerator"
    offset = int_arg("offset", 0)
    detail = request.args.get("detail") or None
    try:
        behind = figures.cases_behind(get_session(), runtime(), g.user, period, _by(), request.args.get("key") or None,
                                      indicator, denominator=part == "denominator", detail=detail, offset=offset)
    except InputError as exc:   # an unknown indicator or detail: say so above an empty list
        errors = {**errors, **exc.errors}
        behind = figures.CasesBehind([], 0, 1, 0, "")
    args = dict(_period_args(), by=_by(), key=request.args.get("key", ""), indicator=indicator, part=part,
                **({"detail": detail} if detail else {}))
    next_url = (url_for("pages.assessment_cases", **args, offset=offset + behind.limit)
                if offset + behind.limit < behind.total else None)
    return render_template("assessment/cases.html", behind=behind, period=period, args=args, errors=errors,
                           indicator=indicator, part=part, next_url=next_url,
                           back_args=dict(_period_args(), by=_by()))


@bp.get("/assessment/export.<fmt>")
@login_required()
def assessment_export(fmt: str):
    if fmt not in ("xlsx", "csv"):
        abort(404)
    period, _ = _period()
    report = figures.assessment(get_session(), runtime(), g.user, period, _by())
    return download(report, fmt, lang())


def _trend_json(data: figures.Dashboard) -> dict:
    return {"months": [p.month for p in data.trend],
            "series": [{"name": str(LABELS[name]), "data": [p.values.get(name) for p in data.trend]}
                       for name in CHART_RATES]}


def _compare_json(report: figures.Report) -> dict:
    items = report.items[:15]
    before = lambda i: report.previous.get(i.key).values.get("closing_rate") if report.previous.get(i.key) else None  # noqa: E731
    return {"names": [i.name if lang() == "zh" else i.name_en for i in items],
            "current": [i.values.get("closing_rate") for i in items], "previous": [before(i) for i in items],
            "labels": [str(l_("This period")), str(l_("Previous period"))], "title": str(LABELS["closing_rate"])}
