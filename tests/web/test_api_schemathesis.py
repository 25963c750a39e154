"""Schemathesis against /api/v1/openapi.json: generated requests, valid and invalid, must never get a
500, and every answer must have a documented status, content type, headers and body shape.

The document is read once from an app without a database (building it needs none); each API
operation then runs against the ``app`` fixture's fresh demo database, with a demo clerk's token.
Requests generated as valid get the ids of a real case, task, photo and token in their path, so
they reach past the 404 into the code that reads and changes things; invalid ones keep theirs.
"""
from __future__ import annotations

import io
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from web import create_app

# A request can match the document and still name a category, grid or org unit that does not
# exist; the API answers 422 naming the field, so 422 counts as an answer to valid data too.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": [200, 201, 401, 403, 404, 409, 412, 422]}}})
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app({"DATABASE_URL": "sqlite:///:memory:", "TESTING": True}), config=CONFIG)

GENERATED = settings(max_examples=int(os.environ.get("GRIDFLOW_API_EXAMPLES", 25)), deadline=None,
                     derandomize=not os.environ.get("GRIDFLOW_API_EXAMPLES"),
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                            HealthCheck.function_scoped_fixture])


@pytest.fixture
def live(client, token):
    """Ids of real things for the clerk: a case with an open task, a photo and a comment; a token."""
    clerk = token("clerk_dhm")
    body = {"category_code": "E0102", "grid_code": "110101001001001", "address": "南池子大街12号",
            "description": "路边堆放生活垃圾", "source": "hotline"}
    code = client.post("/api/v1/cases", json=body, headers=clerk).get_json()["code"]
    task_id = client.get("/api/v1/tasks", headers=clerk).get_json()["items"][0]["id"]
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo, "PNG")
    attachment = client.post(f"/api/v1/cases/{code}/attachments", data={"file": (io.BytesIO(photo.getvalue()), "a.png")},
                             headers=clerk, content_type="multipart/form-data").get_json()
    token_id = client.post("/api/v1/tokens", json={"name": "spare"}, headers=clerk).get_json()["id"]
    round_id = client.post("/api/v1/assessment/rounds", headers=token("admin"), json={
        "name": "2026年第四季度", "period_start": "2026-10-01", "period_end": "2026-12-31", "unit": "110101"}
    ).get_json()["id"]
    return {"headers": clerk, "path": {"code": code, "task_id": task_id, "attachment_id": attachment["id"],
                                       "token_id": token_id, "round_id": round_id, "key": "grid_case", "version": 1,
                                       "name": "grid_case.bpmn", "username": "clerk_dhm",
                                       "unit_code": "110101001001001", "department_code": "HW",
                                       "category_code": "E0102"}}


@schema.parametrize()
@GENERATED
def test_api_honours_its_document(case, app, live):
    if case.path_parameters and case.meta and case.meta.generation.mode is GenerationMode.POSITIVE:
        for name in case.path_parameters:
            case.path_parameters[name] = live["path"][name]
    case.call_and_validate(app=app, headers=live["headers"])
