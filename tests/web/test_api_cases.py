"""/api/v1 cases: search with filters and paging, timeline, photos (multipart) and comments,
with scope checks and bad input."""
from __future__ import annotations

import io

from PIL import Image

from tests.web.test_api import REPORT, field_errors, report
from tests.photos import png



def test_search_filters_pages_and_counts_only_visible_cases(client, token):
    clerk = token("clerk_dhm")
    codes = [report(client, clerk, description=f"第{i}处垃圾") for i in range(3)]
    report(client, token("clerk_jdk"), grid_code="110101003001001")
    page = client.get("/api/v1/cases?limit=2", headers=clerk).get_json()
    assert page["total"] == 3 and [c["code"] for c in page["items"]] == codes[::-1][:2]
    item = page["items"][0]
    assert item["category"]["code"] == "E0102" and item["grid"]["code"] == REPORT["grid_code"]
    assert client.get("/api/v1/cases?offset=2", headers=clerk).get_json()["items"][0]["code"] == codes[0]
    assert client.get("/api/v1/cases?q=第1处", headers=clerk).get_json()["total"] == 1
    assert client.get("/api/v1/cases?status=closed", headers=clerk).get_json()["total"] == 0
    assert client.get("/api/v1/cases?stage=accept&category=E01&org=110101001&source=hotline",
                      headers=clerk).get_json()["total"] == 3
    assert client.get("/api/v1/cases", headers=token("clerk_district")).get_json()["total"] == 4
    bad = client.get("/api/v1/cases?status=lost&created_from=yesterday&limit=201&flag=x", headers=clerk)
    assert bad.status_code == 422 and field_errors(bad) == {"status", "created_from", "limit", "flag"}


def test_a_case_carries_its_version_as_etag(client, token):
    clerk = token("clerk_dhm")
    created = client.post("/api/v1/cases", json=REPORT, headers=clerk)
    assert created.headers["ETag"] == f'"{created.get_json()["version"]}"'
    code = created.get_json()["code"]
    response = client.get(f"/api/v1/cases/{code}", headers=clerk)
    assert response.headers["ETag"] == f'"{response.get_json()["version"]}"'
    timeline = client.get(f"/api/v1/cases/{code}/timeline", headers=clerk).get_json()["items"]
    assert [e["kind"] for e in timeline] == ["reported"]


def test_other_streets_cases_and_their_parts_are_404(client, token):
    code = report(client, token("clerk_dhm"))
    other = token("clerk_js")
    for path in ("", "/timeline", "/attachments", "/comments", "/attachments/1", "/attachments/1/thumbnail"):
        response = client.get(f"/api/v1/cases/{code}{path}", headers=other)
        assert response.status_code == 404 and response.mimetype == "application/problem+json", path
    assert client.post(f"/api/v1/cases/{code}/comments", json={"body": "看看"}, headers=other).status_code == 404
    upload = client.post(f"/api/v1/cases/{code}/attachments", data={"file": (io.BytesIO(png()), "a.png")},
                         headers=other, content_type="multipart/form-data")
    assert upload.status_code == 404


def test_photos_upload_list_download_and_thumbnail(client, token):
    clerk = token("clerk_dhm")
    code = report(client, clerk)
    task_id = client.get("/api/v1/tasks", headers=clerk).get_json()["items"][0]["id"]
    response = client.post(f"/api/v1/cases/{code}/attachments",
                           data={"file": (io.BytesIO(png()), "现场.png"), "task_id": str(task_id)},
                           headers=clerk, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert (photo["filename"], photo["content_type"], photo["task_id"]) == ("现场.png", "image/png", task_id)
    assert response.headers["Location"] == f"/api/v1/cases/{code}/attachments/{photo['id']}"
    listed = client.get(f"/api/v1/cases/{code}/attachments", headers=clerk).get_json()["items"]
    assert [p["id"] for p in listed] == [photo["id"]] and listed[0]["uploaded_by"] == "陈静"
    original = client.get(f"/api/v1/cases/{code}/attachments/{photo['id']}", headers=clerk)
    assert original.status_code == 200 and original.mimetype == "image/png" and original.data == png()
    thumb = client.get(f"/api/v1/cases/{code}/attachments/{photo['id']}/thumbnail", headers=clerk)
    assert thumb.mimetype == "image/jpeg" and max(Image.open(io.BytesIO(thumb.data)).size) == 320
    assert client.get(f"/api/v1/cases/{code}/attachments/{photo['id'] + 1}", headers=clerk).status_code == 404


def test_bad_uploads_are_problems_naming_the_field(client, token):
    clerk = token("clerk_dhm")
    code = report(client, clerk)
    url = f"/api/v1/cases/{code}/attachments"

    def post(data, **kw):
        return client.post(url, data=data, headers=clerk, content_type="multipart/form-data", **kw)
    not_photo = post({"file": (io.BytesIO(b"%PDF-1.4 hello"), "x.png")})
    assert not_photo.status_code == 422 and field_errors(not_photo) == {"file"}
    assert field_errors(post({"task_id": "1"})) == {"file"}
    assert field_errors(post({"file": (io.BytesIO(png()), "a.png"), "task_id": "abc"})) == {"task_id"}
    assert field_errors(post({"file": (io.BytesIO(png()), "a.png"), "task_id": "999999"})) == {"task_id"}
    assert field_errors(post({"file": (io.BytesIO(png()), "a.png"), "colour": "red"})) == {"colour"}
    assert field_errors(post({"file": (io.BytesIO(png()), "a.png"), "other": (io.BytesIO(b"x"), "b")})) == {"other"}
    as_json = client.post(url, json={"file": "abc"}, headers=clerk)
    assert as_json.status_code == 400 and field_errors(as_json) == {"_body"}
    client.application.extensions["gridflow.runtime"].settings["ATTACHMENT_MAX_BYTES"] = 1000
    too_big = post({"file": (io.BytesIO(png(2000, 2000) + b"\0" * 200_000), "big.png")})
    assert too_big.status_code == 413 and field_errors(too_big) == {"file"}
    assert client.get(f"/api/v1/cases/{code}/attachments", headers=clerk).get_json()["items"] == []


def test_comments_are_added_and_listed_and_checked(client, token):
    clerk = token("clerk_dhm")
    code = report(client, clerk)
    url = f"/api/v1/cases/{code}/comments"
    added = client.post(url, json={"body": "已电话联系报告人"}, headers=clerk)
    assert added.status_code == 201
    assert added.get_json()["author"] == "陈静" and added.get_json()["task_id"] is None
    assert [c["body"] for c in client.get(url, headers=clerk).get_json()["items"]] == ["已电话联系报告人"]
    for body, fields in [({"body": ""}, {"body"}), ({"body": "x" * 2001}, {"body"}), ({}, {"body"}),
                         ({"body": "ok", "task_id": True}, {"task_id"}), ({"body": "ok", "pin": 1}, {"pin"}),
                         ({"body": "a\x00b"}, {"body"}), ({"body": "ok", "task_id": 99999}, {"task_id"})]:
        response = client.post(url, json=body, headers=clerk)
        assert response.status_code == 422 and field_errors(response) == fields, body
    blank = client.post(url, json={"body": "   "}, headers=clerk)
    assert blank.status_code == 422 and field_errors(blank) == {"body"}


def test_intake_types_are_strict_json(client, token):
    clerk = token("clerk_dhm")
    for field, value in [("self_handled", 0), ("self_handled", "yes"), ("lat", "39.9"), ("lat", True)]:
        response = client.post("/api/v1/cases", json={**REPORT, field: value}, headers=clerk)
        assert response.status_code == 422 and field_errors(response) == {field}, (field, value)
    nan = client.post("/api/v1/cases", data='{"lat": NaN}', headers={**clerk, "Content-Type": "application/json"})
    assert nan.status_code == 422 and "lat" in field_errors(nan)


def test_api_intake_is_rate_limited_per_address(app, client, token):
    app.config["RATE_LIMIT_API"] = "2/minute"
    headers = token("clerk_dhm")
    body = {"category_code": "E0102", "grid_code": "110101001001001", "address": "南池子大街12号",
            "description": "路边堆放生活垃圾", "source": "hotline"}
    codes = [client.post("/api/v1/cases", json=body, headers=headers).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    r = client.post("/api/v1/cases", json=body, headers=headers)
    assert r.mimetype == "application/problem+json" and int(r.headers["Retry-After"]) > 0


def test_search_pages_by_cursor_and_follows_changes_with_updated_since(client, token, clock):
    clerk = token("clerk_dhm")
    codes = [report(client, clerk, description=f"第{i}处垃圾") for i in range(5)]
    seen, cursor, totals = [], None, []
    while True:
        page = client.get("/api/v1/cases?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=clerk).get_json()
        totals.append((page["total"], page["total_exact"]))
        seen += [c["code"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        report(client, clerk, description="翻页时新来的")  # new cases do not shift the pages
    assert seen == codes[::-1] and totals == [(5, True), (6, True), (7, True)]
    changed = client.get("/api/v1/cases?updated_since=2099-01-01T00:00:00%2B08:00", headers=clerk).get_json()
    assert changed["items"] == [] and changed["next_cursor"] is None
    recent = client.get("/api/v1/cases?updated_since=2026-11-25T09:59:00%2B08:00", headers=clerk).get_json()
    assert recent["total"] == 7
    bad = client.get("/api/v1/cases?cursor=zzz", headers=clerk)
    assert bad.status_code == 422 and field_errors(bad) == {"cursor"}
    assert field_errors(client.get("/api/v1/cases?updated_since=2026-11-25T10:00:00", headers=clerk)) == \
        {"updated_since"}


def test_a_case_shows_its_supervision_order_reply_and_review(app, client, token, clock):
    from datetime import datetime

    from engine.lifecycle.sweep import sweep
    from tests.timekeeping import SH

    clerk = token("clerk_dhm")
    code = report(client, clerk)                                     # acceptance due 11:00
    clock.move_to(datetime(2026, 11, 25, 11, 1, tzinfo=SH))
    sweep(app.extensions["gridflow.sessions"], app.extensions["gridflow.runtime"])
    supervisor, leader = token("super_dhm"), token("leader_dhm")

    def complete(headers, bpmn_id, body):
        [task] = [t for t in client.get(f"/api/v1/cases/{code}", headers=headers).get_json()["open_tasks"]
                  if t["name"] == bpmn_id]
        answer = client.post(f"/api/v1/tasks/{task['id']}/complete", json=body, headers=headers)
        assert answer.status_code == 200, answer.get_json()

    complete(supervisor, "督办", {"supervision_unit": "", "supervision_note": "说明超时原因", "supervision_level": "listed"})
    complete(leader, "督办答复", {"supervision_reply": "受理员临时外出，已补位"})
    complete(supervisor, "审核督办答复", {"supervision_review": "adopt"})
    steps = client.get(f"/api/v1/cases/{code}", headers=clerk).get_json()["supervision"]
    assert [(s["task"], s["status"], s["answers"]) for s in steps] == [
        ("supervise", "completed", {"supervision_unit": "", "supervision_note": "说明超时原因",
                                    "supervision_level": "listed"}),
        ("supervise_reply", "completed", {"supervision_reply": "受理员临时外出，已补位"}),
        ("supervise_review", "completed", {"supervision_review": "adopt"}),
    ]
    reply = steps[1]
    # 挂牌督办: one working hour from 11:01, due 13:31 local (05:31 UTC), answered by the street's shift leader
    assert reply["due_at"].startswith("2026-11-25T05:31") and reply["completed_by"] == "杨帆"
    assert reply["facts"]["supervision_late_stage"] == "accept" and reply["facts"]["supervision_level_name"] == "挂牌督办"
