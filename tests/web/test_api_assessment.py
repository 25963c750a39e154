"""GET /api/v1/assessment and its drill-down and exports: the documented fields, scope, bad input."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.web.test_api import REPORT, field_errors, report


def complete(client, headers, code, bpmn_id, **data):
    tasks = client.get("/api/v1/tasks", headers=headers).get_json()["items"]
    task = next(t for t in tasks if t["case_code"] == code and t["bpmn_id"] == bpmn_id)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers)
    assert response.status_code == 200, response.get_json()


def filed_and_dispatched(client, token):
    clerk, dispatcher = token("clerk_dhm"), token("dispatch_dhm")
    codes = [report(client, clerk) for _ in range(3)]
    complete(client, clerk, codes[0], "accept", decision="file")
    complete(client, clerk, codes[1], "accept", decision="file")
    complete(client, clerk, codes[2], "accept", decision="cancel", cancel_reason="invalid")
    complete(client, dispatcher, codes[0], "dispatch", level="department", department_code="HW")
    return codes


def test_figures_by_street_with_definitions(client, token, clock):
    codes = filed_and_dispatched(client, token)
    response = client.get("/api/v1/assessment?from=2026-11-01&to=2026-11-30&by=street", headers=token("leader_dhm"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    [street] = body["items"]
    assert (street["key"], street["name"]) == ("110101001", "东华门街道")
    assert (street["received"], street["filed"], street["cancelled"], street["dispatched"]) == (3, 2, 1, 1)
    assert street["filing_rate"] == round(2 / 3, 4) and street["closing_rate"] is None
    assert street["due_to_close"] == 0 and isinstance(street["overdue"], int)
    assert {"closed", "closed_on_time", "on_time_closing_rate", "reworked", "rework_rate", "extended",
            "extension_rate", "returned", "return_rate", "satisfaction_rate", "score", "grade"} <= set(street)
    assert body["definitions"]["rates"]["filing_rate"] == {"numerator": "filed", "denominator": "received",
                                                           "complement": False, "zh": "立案率"}
    assert body["definitions"]["version"] and body["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    behind = client.get("/api/v1/assessment/cases?month=2026-11&by=street&key=110101001&indicator=filed",
                        headers=token("leader_dhm")).get_json()
    assert [i["code"] for i in behind["items"]] == sorted(codes[:2]) and behind["total"] == 2
    assert street["cancelled_by"] == {"invalid": 1} and body["total"]["cancelled_by"] == {"invalid": 1}
    behind = client.get("/api/v1/assessment/cases?month=2026-11&indicator=cancelled&detail=invalid",
                        headers=token("leader_dhm")).get_json()
    assert [i["code"] for i in behind["items"]] == [codes[2]]


def test_scope_and_bad_arguments(client, token, clock):
    filed_and_dispatched(client, token)
    assert client.get("/api/v1/assessment?by=street", headers=token("leader_js")).get_json()["items"] == []
    hw = client.get("/api/v1/assessment?by=department", headers=token("handler_hw")).get_json()["items"]
    assert [i["key"] for i in hw] == ["HW"]
    assert client.get("/api/v1/assessment", headers=token("clerk_dhm")).status_code == 403
    bad = client.get("/api/v1/assessment?from=2026-11-31&by=town", headers=token("leader_dhm"))
    assert bad.status_code == 422 and field_errors(bad) == {"by"}
    bad = client.get("/api/v1/assessment?from=2026-11-31&to=2026-11-30", headers=token("leader_dhm"))
    assert bad.status_code == 422 and field_errors(bad) == {"from"}
    bad = client.get("/api/v1/assessment/cases?indicator=nonsense", headers=token("leader_dhm"))
    assert bad.status_code == 422 and field_errors(bad) == {"indicator"}
    bad = client.get("/api/v1/assessment/cases?indicator=filed&detail=invalid", headers=token("leader_dhm"))
    assert bad.status_code == 422 and field_errors(bad) == {"detail"}


def test_exports_state_the_period_the_version_and_the_definitions(client, token, clock):
    filed_and_dispatched(client, token)
    leader = token("leader_dhm")
    version = client.get("/api/v1/assessment?month=2026-11", headers=leader).get_json()["definitions"]["version"]
    response = client.get("/api/v1/assessment.csv?month=2026-11&by=street", headers=leader)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["period", "2026-11-01/2026-11-30"] and ["assessment_file_version", version] in rows
    header = next(r for r in rows if r and r[0] == "key")
    street = next(r for r in rows if r and r[0] == "110101001")
    assert street[header.index("received")] == "3" and street[1] == "东华门街道"
    assert street[header.index("cancelled_by.invalid")] == "1"          # 注销 by reason, a column per reason
    assert any(r[:2] == ["rates", "filing_rate"] for r in rows)
    response = client.get("/api/v1/assessment.xlsx?month=2026-11&by=street", headers=leader)
    book = load_workbook(io.BytesIO(response.data))
    sheet = [r[:2] for r in book["figures"].iter_rows(max_col=3, values_only=True)]
    assert sheet[0] == ("period", "2026-11-01/2026-11-30") and ("assessment_file_version", version) in sheet
    sheet = list(book["figures"].values)
    assert any(r[0] == "110101001" and r[2] == 3 for r in sheet) and book["definitions"].max_row > 10


def test_the_api_document_lists_the_assessment_operations(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/assessment", "/api/v1/assessment/cases", "/api/v1/assessment.xlsx"} <= set(spec["paths"])
    item = spec["components"]["schemas"]["AssessmentItem"]["properties"]
    assert item["closing_rate"]["maximum"] == 1 and item["received"]["type"] == "integer"
