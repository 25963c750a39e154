"""Read and write the sheets of a city folder: CSV, or one .xlsx workbook per sheet."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

# Sheet name → its columns, in the order export writes them.
SHEETS = {
    "org_units": ("code", "level", "name", "name_en", "parent", "area_type"),
    "departments": ("code", "name", "name_en", "level"),
    "categories": ("code", "kind", "major_code", "major_name", "major_name_en", "minor_code", "name",
                   "name_en", "emergency", "default_department"),
    "users": ("username", "name", "locale"),
    "memberships": ("username", "role", "org_unit", "department"),
}
# Org level → the GeoJSON file of its boundaries (grids required, the others optional).
BOUNDARY_FILES = {"grid": "grids.geojson", "community": "communities.geojson", "street": "streets.geojson"}


@dataclass(frozen=True)
class Problem:
    """One broken rule, located as a spreadsheet user would look for it."""

    file: str
    row: int | str | None
    column: str | None
    rule: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}" if isinstance(self.row, int) else f" {self.row}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.rule}"


@dataclass
class Row:
    """The cells of one data row by column name, with its row number as the sheet shows it."""

    file: str
    number: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")

    def problem(self, column: str | None, rule: str) -> Problem:
        return Problem(self.file, self.number, column, rule)


def sheet_files(folder: Path) -> list[Path]:
    """The files a city's sheets are read from, for telling whether a folder changed."""
    return sorted(p for name in SHEETS for p in (folder / f"{name}.csv", folder / f"{name}.xlsx") if p.exists())


def read_sheet(folder: Path, name: str, problems: list[Problem]) -> list[Row]:
    """Return the data rows of sheet NAME (row 1 is the header), adding what is wrong to PROBLEMS."""
    sources = [p for p in (folder / f"{name}.csv", folder / f"{name}.xlsx") if p.exists()]
    if len(sources) != 1:
        rule = "is missing" if not sources else "exists as both .csv and .xlsx; keep one"
        problems.append(Problem(f"{name}.csv", None, None, f"sheet {name} {rule}"))
        return []
    source = sources[0]
    table = _csv_table(source) if source.suffix == ".csv" else _xlsx_table(source)
    if not table:
        problems.append(Problem(source.name, 1, None, "the header row is missing"))
        return []
    header = [h.strip() for h in table[0]]
    for column in SHEETS[name]:
        if column not in header:
            problems.append(Problem(source.name, 1, column, "this column is missing"))
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are common at the end of a sheet
        cells = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header) if h}
        rows.append(Row(source.name, number, cells))
    return rows


def _csv_table(path: Path) -> list[list[str]]:
    # utf-8-sig: Excel saves "CSV UTF-8" with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _xlsx_table(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return [[_cell_text(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _cell_text(value) -> str:
    # Excel turns a code typed as 110101 into a number; give it back as the digits typed.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_sheet(folder: Path, name: str, rows: list[dict[str, str]]) -> None:
    """Write sheet NAME as CSV with a byte-order mark, so that Excel shows the Chinese names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SHEETS[name])
    for row in rows:
        writer.writerow([row.get(column, "") for column in SHEETS[name]])
    (folder / f"{name}.csv").write_text(buffer.getvalue(), encoding="utf-8-sig")
