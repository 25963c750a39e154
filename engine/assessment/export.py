"""A report as a spreadsheet (.xlsx with openpyxl) or CSV: the period, when it was made, the
version of the assessment file and the definitions used, then one row per unit."""
from __future__ import annotations

import csv
import io
import json

from openpyxl import Workbook

from engine.assessment.figures import Report


def columns(report: Report) -> list[str]:
    """Counts, rates and composites, then a column per value of each breakdown (``cancelled_by.invalid``)."""
    defs = report.definitions
    split = [f"{name}_by.{value}" for name in defs.breakdowns
             for value in sorted({v for i in report.items + [report.total] for v in i.values.get(f"{name}_by", {})})]
    return list(defs.counts) + list(defs.rates) + list(defs.composites) + split


def _cell(item, name: str):
    if "_by." in name:
        whole, value = name.split(".", 1)
        return item.values.get(whole, {}).get(value, 0)
    return item.values.get(name)


def _header(report: Report) -> list[list[str]]:
    defs = report.definitions
    return [["period", report.period.label], ["by", report.by],
            ["made_at", report.made_at.isoformat()],
            ["assessment_file_version", defs.version], ["process", report.process or ""]]


def _rows(report: Report, lang: str) -> list[list]:
    names = columns(report)
    rows = [["key", "name", *names, "score", "grade"]]
    for item in report.items + [report.total]:
        rows.append([item.key or "", item.name if lang == "zh" else item.name_en,
                     *[_cell(item, n) for n in names], item.score, item.grade])
    return rows


def _definitions(report: Report) -> list[list[str]]:
    described = report.definitions.describe()
    out = [["section", "name", "definition"]]
    for section in ("counts", "rates", "composites", "scores"):
        for name, value in described[section].items():
            out.append([section, name, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)])
    for key in ("due_to_close", "subtract_parked", "satisfaction_weights", "lateness", "grades", "breakdowns"):
        value = described[key]
        out.append(["rule", key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)])
    return out


def to_csv(report: Report, lang: str = "zh") -> bytes:
    """The report as UTF-8 CSV (with a byte-order mark, so spreadsheet programs read the Chinese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(_header(report))
    writer.writerow([])
    writer.writerows(_rows(report, lang))
    writer.writerow([])
    writer.writerows(_definitions(report))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(report: Report, lang: str = "zh") -> bytes:
    """The report as a workbook: sheet ``figures`` (header, then the table) and ``definitions``."""
    book = Workbook()
    sheet = book.active
    sheet.title = "figures"
    for row in _header(report):
        sheet.append(row)
    sheet.append([])
    for row in _rows(report, lang):
        sheet.append(row)
    definitions = book.create_sheet("definitions")
    for row in _definitions(report):
        definitions.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
