"""Check that the decision tables and the category catalogue name the same categories."""
from __future__ import annotations

import ast
from pathlib import Path

from lxml import etree

from engine.city.sheets import Problem
from engine.process.variables import CATEGORY_VARIABLE

DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def check_decisions(processes_dir: Path, city, category_rows: dict, problems: list[Problem]) -> None:
    """Report a category a decision names that the city lacks, and a category a decision leaves out."""
    for path in sorted(processes_dir.glob("*.dmn")):
        try:
            root = etree.parse(str(path)).getroot()
        except etree.XMLSyntaxError:
            continue  # deploying the processes reports it
        for table in root.iter(f"{{{DMN_NS}}}decisionTable"):
            inputs = table.findall(f"{{{DMN_NS}}}input")
            column = next((i for i, el in enumerate(inputs)
                           if (el.findtext(f"{{{DMN_NS}}}inputExpression/{{{DMN_NS}}}text") or "").strip()
                           == CATEGORY_VARIABLE), None)
            if column is None:
                continue
            label = inputs[column].get("label") or CATEGORY_VARIABLE
            decision = table.getparent().get("id")
            named = set()
            for rule in table.findall(f"{{{DMN_NS}}}rule"):
                cells = rule.findall(f"{{{DMN_NS}}}inputEntry")
                text = cells[column].findtext(f"{{{DMN_NS}}}text") if column < len(cells) else ""
                for code in _codes(text or ""):
                    named.add(code)
                    if code not in city.categories:
                        problems.append(Problem(path.name, f"rule {rule.get('id')}", label,
                                                f"names category {code}, which categories does not list"))
            for code, row in category_rows.items():
                if code not in named:
                    problems.append(row.problem("code", f"category {code} is not named in decision {decision} "
                                                        f"({path.name}); add a rule for it"))


def _codes(text: str) -> tuple[str, ...]:
    """The string constants of a cell: one, or a comma-separated list; an expression names none."""
    try:
        value = ast.literal_eval(text.strip()) if text.strip() else ()
    except (ValueError, SyntaxError):
        return ()
    return tuple(v for v in (value if isinstance(value, tuple) else (value,)) if isinstance(v, str) and v)
