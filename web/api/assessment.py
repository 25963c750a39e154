"""/api/v1 assessment: figures for a period by any grouping, the cases behind one figure, exports."""
from __future__ import annotations

from flask import Response, g

from engine.assessment import export, figures
from engine.assessment.periods import Period

from web.api.core import bp, operation
from web.api.schemas.assessment import AssessmentArgs, AssessmentSchema, CasesBehindArgs, CasesBehindSchema, PeriodArgs
from web.db import get_session, runtime

PERIOD_HELP = ("The period: `from` and `to` dates (inclusive, in the calendar's time zone), or `month`, "
               "`quarter` or `year`; this month when none is given. ")


def period_of(args: dict) -> Period:
    raw = {"from": args.get("from_"), **{k: args.get(k) for k in ("to", "month", "quarter", "year")}}
    return Period.parse({k: v for k, v in raw.items() if v}, runtime().clock().astimezone(runtime().calendar.tz).date())


class ReportResource:
    """A report as AssessmentSchema dumps it."""

    def __init__(self, report: figures.Report):
        self.by, self.period, self.items, self.total = report.by, report.period, report.items, report.total
        self.previous = {("_total" if k is None else k): v for k, v in report.previous.items()}
        self.previous_period, self.process, self.made_at = report.previous_period, report.process, report.made_at
        self.definitions = report.definitions.describe()


@bp.get("/assessment")
@operation("Assessment figures", tag="assessment", query=AssessmentArgs, response=AssessmentSchema, errors=(403,),
           description=PERIOD_HELP + "One item per unit of the grouping within your scope, best score first; counts "
           "are integers, rates fractions in [0, 1] (null when the denominator is 0). `received` counts cases "
           "reported in the period, `filed` and `closed` those events, `due_to_close` cases whose handling deadline "
           "falls in it, `reworked` cases that failed verification in it.")
def get_assessment(args):
    report = figures.assessment(get_session(), runtime(), g.user, period_of(args), args["by"], compare=args["compare"])
    return ReportResource(report)


@bp.get("/assessment/cases")
@operation("The cases behind a figure", tag="assessment", query=CasesBehindArgs, response=CasesBehindSchema,
           errors=(403,), description=PERIOD_HELP + "The cases one item's count or rate is made of, by case code.")
def get_cases_behind(args):
    behind = figures.cases_behind(get_session(), runtime(), g.user, period_of(args), args["by"], args.get("key"),
                                  args["indicator"], denominator=args["part"] == "denominator",
                                  detail=args.get("detail"), limit=args["limit"], offset=args["offset"])
    return {"items": [{"code": c} for c in behind.codes], "total": behind.total, "limit": behind.limit,
            "offset": behind.offset, "fact": behind.fact}


def download(report: figures.Report, fmt: str, lang: str) -> Response:
    """The report as an .xlsx or .csv attachment."""
    name = f"assessment-{report.by}-{report.period.first.isoformat()}-{report.period.last.isoformat()}"
    if fmt == "csv":
        return Response(export.to_csv(report, lang), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(export.to_xlsx(report, lang),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


@bp.get("/assessment.xlsx")
@operation("Assessment figures as a workbook", tag="assessment", query=PeriodArgs, errors=(403,),
           media=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",),
           description=PERIOD_HELP + "Sheet `figures`: the period, when it was made, the assessment file's version, "
           "then one row per unit; sheet `definitions`: the definitions used.")
def get_assessment_xlsx(args):
    return download(figures.assessment(get_session(), runtime(), g.user, period_of(args), args["by"]), "xlsx", "zh")


@bp.get("/assessment.csv")
@operation("Assessment figures as CSV", tag="assessment", query=PeriodArgs, errors=(403,), media=("text/csv",),
           description=PERIOD_HELP + "The period, when it was made, the assessment file's version, one row per unit, "
           "then the definitions used.")
def get_assessment_csv(args):
    return download(figures.assessment(get_session(), runtime(), g.user, period_of(args), args["by"]), "csv", "zh")
