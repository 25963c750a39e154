"""Intake and residents through the pages and the API: every error on the first submit, the
clerk's wording, the grid select by community, the reporter's link and SMS shown once to the
clerk, the result before rating, a supplement's photos, one Rating row on the case page, and a
unit that returned a case seeing only its own task record."""
from __future__ import annotations

import html
import io
import re

import pytest

from tests.photos import png
from tests.web.pages import text
from tests.web.test_pages import GRID, report
from tests.web.test_track import TO_CLOSE, complete

LINK = re.compile(r'id="tracking-url" class="tracking-url" value="([^"]+)"')

pytestmark = pytest.mark.usefixtures("clock")


def field_errors(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'class="field-error" role="alert">([^<]*)<', page)]


def hotline_by_page(clerk) -> tuple[str, str]:
    """Record a hotline call through /report; return (case code, the reporter's link path)."""
    done = report(clerk, source="hotline", reporter_name="王芳", reporter_phone="13900001111")
    assert done.status_code == 200, text(done)[-1500:]
    url = html.unescape(LINK.search(text(done)).group(1))
    return url.split("/track/")[1].split("/")[0], url.replace("http://localhost", "")


# -- intake --------------------------------------------------------------------------------------
def test_every_error_shows_on_the_first_submit(client_for):
    clerk = client_for("clerk_dhm")
    page = report(clerk, address="", description="", lat="91", lng="", source="hotline", reporter_phone="12345")
    assert page.status_code == 422
    assert field_errors(text(page)) == [
        "须为 -90 到 90 之间的数字。", "经纬度须同时填写或都不填。", "请描述发现的问题。",  # the form's own checks
        "不是有效的电话号码：请填写手机号码或带区号的固定电话，例如 13900001111, 010-65123456。"]  # the engine's
    without_place = report(clerk, address="", source="hotline", reporter_phone="12345", category_code="X")
    assert len(field_errors(text(without_place))) == 3  # category, address or coordinates, phone


def test_a_bad_phone_alone_is_named_with_the_examples(client_for):
    clerk = client_for("clerk_dhm")
    errors = field_errors(text(report(clerk, source="hotline", reporter_phone="6512345")))
    assert errors == ["不是有效的电话号码：请填写手机号码或带区号的固定电话，例如 13900001111, 010-65123456。"]


def test_address_or_coordinates_is_marked_required_and_grids_are_grouped_by_community(client_for):
    page = text(client_for("grid_dhm_01").get("/report"))
    address = page.split('for="in-address"')[1].split("</label>")[0]
    assert '<span class="req">*</span>' in address and "地址和坐标至少填写一项" in address
    groups = re.findall(r'<optgroup label="([^"]+)">', page)
    assert groups and groups[0] == "南池子社区"
    option = re.search(r'<option value="110101001001001"[^>]*>([^<]+)</option>', page).group(1)
    assert "110101001001001" not in option and len(option) <= 12  # fits a 375 px screen


def test_a_clerk_records_a_callers_report_in_a_call_takers_words(client_for):
    clerk = text(client_for("clerk_dhm").get("/report"))
    worker = text(client_for("grid_dhm_01").get("/report"))
    assert "登记群众诉求" in clerk and "群众反映的问题" in clerk and "来电人" in clerk
    assert "登记群众诉求" not in worker and "群众反映的问题" not in worker


# -- the reporter's link, once, to the clerk ---------------------------------------------------------
def test_a_hotline_case_shows_the_clerk_its_link_and_sms_once(client_for, app):
    clerk = client_for("clerk_dhm")
    done = report(clerk, source="hotline", reporter_name="王芳", reporter_phone="13900001111")
    page = text(done)
    code = re.search(r"GF\d{13}", page).group(0)
    url = html.unescape(LINK.search(page).group(1))
    sms = html.unescape(page.split('id="sms-text" class="sms-text" rows="5" readonly>')[1].split("</textarea>")[0])
    assert done.headers["Cache-Control"] == "no-store"
    assert url.startswith(f"http://localhost/track/{code}/") and url in sms and code in sms
    assert "13900001111" in page  # where to send it
    secret = url.rsplit("/", 1)[1]
    resident = app.test_client()
    assert resident.get(url.replace("http://localhost", "")).status_code == 200
    assert secret not in text(clerk.get(f"/cases/{code}"))  # never shown again


def test_a_patrol_report_has_no_link(client_for):
    done = report(client_for("grid_dhm_01"))
    assert done.status_code == 302


# -- what the reporter sees, and sends --------------------------------------------------------------
def test_the_reporter_sees_the_result_then_rates_and_the_case_shows_one_rating(client_for, app, token):
    clerk = client_for("clerk_dhm")
    code, link = hotline_by_page(clerk)
    for user, data in TO_CLOSE:
        complete(app.test_client(), token, code, user, data)
    resident = app.test_client()
    page = text(resident.get(link))
    result = page.split("<h3>办理结果</h3>")[1].split("</section>")[0]
    assert "已清运" in result and 'name="satisfaction"' in page
    assert page.index("已清运") < page.index('name="satisfaction"')
    assert resident.post(f"{link}/rating", data={"satisfaction": "dissatisfied", "comment": "又堆了"}).status_code == 303
    row = text(clerk.get(f"/cases/{code}")).split('class="summary-grid rating-row"')[1].split("</dl>")[0]
    assert "不满意" in row and "群众本人评价" in row and "电话回访：满意" in row and "又堆了" in row


def test_a_supplement_can_carry_photos(client_for, app, token):
    clerk = client_for("clerk_dhm")
    code, link = hotline_by_page(clerk)
    complete(app.test_client(), token, code, "clerk_dhm", {"decision": "supplement", "supplement_request": "门牌照片"})
    resident = app.test_client()
    assert 'name="photos"' in text(resident.get(link))
    sent = resident.post(f"{link}/supplement", content_type="multipart/form-data",
                         data={"text": "门口照片", "photos": (io.BytesIO(png()), "door.png")})
    assert sent.status_code == 303
    case_page = text(clerk.get(f"/cases/{code}"))
    assert "door.png" in case_page and "待补充" in case_page  # labelled with the stage it came in


# -- a unit that returned the case ------------------------------------------------------------------
def test_a_unit_that_returned_the_case_sees_only_its_own_record(client_for, app, token):
    clerk = client_for("clerk_dhm")
    code, _ = hotline_by_page(clerk)
    api = app.test_client()
    complete(api, token, code, "clerk_dhm", {"decision": "file"})
    complete(api, token, code, "dispatch_dhm", {"level": "department", "department_code": "HW"})
    handler = token("handler_hw")
    sign = next(t for t in api.get("/api/v1/tasks", headers=handler).get_json()["items"] if t["case_code"] == code)
    complete(api, token, code, "handler_hw", {"sign_decision": "return", "return_reason": "不属于环卫职责"})
    clerk.post(f"/cases/{code}/comments", data={"csrf_token": clerk.csrf, "body": "已联系城管"})
    complete(api, token, code, "dispatch_dhm", {"level": "department", "department_code": "CG"})

    page = text(client_for("handler_hw").get(f"/tasks/{sign['id']}"))
    assert "本单位办理记录" in page and "不属于环卫职责" in page
    for secret in ("王芳", "13900001111", "南池子大街12号", "路边堆放生活垃圾", "已联系城管"):
        assert secret not in page, secret
    body = api.get(f"/api/v1/tasks/{sign['id']}", headers=handler)
    assert body.status_code == 200
    assert body.get_json()["values"] == {"sign_decision": "return", "return_reason": "不属于环卫职责"}
    assert api.get(f"/api/v1/tasks/{sign['id']}/candidates", headers=handler).status_code == 404
    assert api.get(f"/api/v1/cases/{code}", headers=handler).status_code == 404
    assert client_for("handler_hw").get(f"/cases/{code}").status_code == 404


def test_the_api_answers_a_resident_report_with_its_link_and_sms(client, token):
    r = client.post("/api/v1/cases", headers=token("clerk_dhm"), json={
        "category_code": "E0102", "grid_code": GRID, "address": "南池子大街12号", "description": "垃圾",
        "source": "hotline", "reporter_phone": "010-65123456"})
    body = r.get_json()
    assert r.status_code == 201 and body["tracking_url"] in body["sms_text"] and body["code"] in body["sms_text"]
    bad = client.post("/api/v1/cases", headers=token("clerk_dhm"), json={
        "category_code": "E0102", "grid_code": GRID, "description": "垃圾", "source": "hotline",
        "reporter_phone": "6512345"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"address", "reporter_phone"}
