"""The pages: sign-in, CSRF, session expiry, scope checks by direct URL, inbox, task form
validation and conflicts, intake, case page, board, notices, languages."""
from __future__ import annotations

import html
import io
import re
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.lifecycle.sweep import sweep
from models import Case, Task

from tests.web.pages import csrf, sign_in, text

from tests.timekeeping import SH, WEDNESDAY_10
from tests.photos import png

GRID = "110101001001001"
OTHER_GRID = "110101003001001"


pytestmark = pytest.mark.usefixtures("clock")





def report(c, **fields):
    data = {"csrf_token": c.csrf, "category_code": "E0102", "grid_code": GRID, "address": "南池子大街12号",
            "description": "路边堆放生活垃圾", "urgency": "normal"}
    data.update(fields)
    return c.post("/report", data=data, content_type="multipart/form-data")


def case_by_code(demo_db, code) -> Case:
    with demo_db() as s:
        return s.scalars(select(Case).where(Case.code == code)).one()


def open_task(demo_db, code, bpmn_id) -> int:
    with demo_db() as s:
        return s.scalar(select(Task.id).join(Case).where(Case.code == code, Task.bpmn_id == bpmn_id,
                                                         Task.status == "open"))


def to_handling(client_for, demo_db, code):
    """File, dispatch to 环卫 (HW) and sign for a case through the pages; return the handler's client."""
    clerk, dispatcher, handler = client_for("clerk_dhm"), client_for("dispatch_dhm"), client_for("handler_hw")
    clerk.post(f"/tasks/{open_task(demo_db, code, 'accept')}", data={"csrf_token": clerk.csrf, "decision": "file"})
    dispatcher.post(f"/tasks/{open_task(demo_db, code, 'dispatch')}",
                    data={"csrf_token": dispatcher.csrf, "level": "department", "department_code": "HW"})
    handler.post(f"/tasks/{open_task(demo_db, code, 'sign_for')}", data={"csrf_token": handler.csrf, "sign_decision": "sign"})
    return handler


def reported_code(response) -> str:
    assert response.status_code == 302, text(response)[-2000:]
    return response.headers["Location"].rsplit("/", 1)[-1]


# -- sign-in, CSRF, sessions -------------------------------------------------------------------------
def test_sign_in_wrong_password_and_sign_out(client):
    assert client.get("/inbox").headers["Location"].startswith("/login?next=/inbox")
    token = csrf(client.get("/login"))
    bad = client.post("/login", data={"username": "clerk_dhm", "password": "nope", "csrf_token": token})
    assert bad.status_code == 401 and "clerk_dhm" in text(bad)  # the name is kept
    ok = client.post("/login", data={"username": "clerk_dhm", "password": "gridflow-demo", "csrf_token": token,
                                     "next": "/cases"})
    assert ok.headers["Location"] == "/cases"
    token = csrf(client.get("/inbox"))
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/inbox").status_code == 302


def test_next_never_leaves_the_site(client):
    token = csrf(client.get("/login"))
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        r = client.post("/login", data={"username": "clerk_dhm", "password": "gridflow-demo",
                                        "csrf_token": token, "next": target})
        assert r.headers["Location"] == "/start"
        client.post("/logout", data={"csrf_token": csrf(client.get("/inbox"))})
        token = csrf(client.get("/login"))


def test_every_form_needs_the_csrf_token(client_for, demo_db):
    c = client_for("grid_dhm_01")
    r = report(c, csrf_token="forged")
    assert r.status_code == 400 and "重新提交" in text(r)
    r = c.post("/logout")
    assert r.status_code == 400
    with demo_db() as s:
        assert s.scalar(select(Case.id)) is None  # nothing was reported


def test_login_form_itself_needs_the_token(client):
    r = client.post("/login", data={"username": "clerk_dhm", "password": "gridflow-demo"})
    assert r.status_code == 400


def test_session_expires_when_idle_and_after_max_age(client_for, clock):
    c = client_for("clerk_dhm")
    clock.move_to(WEDNESDAY_10 + timedelta(minutes=59))
    assert c.get("/inbox").status_code == 200
    clock.move_to(WEDNESDAY_10 + timedelta(minutes=59 + 61))
    r = c.get("/inbox")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    c = client_for("clerk_dhm")
    for minutes in range(30, 13 * 60, 30):  # active all day, but at most 12 hours per sign-in
        clock.move_to(WEDNESDAY_10 + timedelta(minutes=59 + 61 + minutes))
        if c.get("/inbox").status_code == 302:
            break
    else:
        pytest.fail("the session outlived 13 hours of activity")
    assert 11.5 * 60 <= minutes <= 12.5 * 60


def test_htmx_requests_of_an_expired_session_are_redirected_by_header(client):
    r = client.get("/inbox?partial=1", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")


# -- scope by direct URL ----------------------------------------------------------------------------
def test_another_streets_case_task_photos_and_diagram_are_404(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    code = reported_code(report(worker, photos=(io.BytesIO(png()), "a.png")))
    task_id = open_task(demo_db, code, "accept")
    outsider = client_for("clerk_jdk")
    for url in (f"/cases/{code}", f"/tasks/{task_id}", f"/cases/{code}/diagram.bpmn",
                f"/cases/{code}/attachments/1", f"/cases/{code}/attachments/1/thumb"):
        assert outsider.get(url).status_code == 404, url
    for url in (f"/tasks/{task_id}/claim", f"/tasks/{task_id}", f"/cases/{code}/comments"):
        assert outsider.post(url, data={"csrf_token": outsider.csrf, "body": "x"}).status_code == 404, url
    assert code not in text(outsider.get("/cases"))
    assert code not in text(outsider.get("/inbox"))
    assert outsider.get("/tasks/99999999999999999999").status_code == 404


def test_pages_a_role_does_not_have_are_403(client_for):
    handler = client_for("handler_hw")
    assert handler.get("/report").status_code == 403
    assert handler.get("/board").status_code == 403
    assert client_for("clerk_dhm").get("/board").status_code == 403


# -- inbox -------------------------------------------------------------------------------------------
def test_inbox_lists_filters_counts_and_refreshes(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    first = reported_code(report(worker))
    second = reported_code(report(worker, category_code="E0101", description="私搭乱建"))
    clerk = client_for("clerk_dhm")
    page = text(clerk.get("/inbox"))
    assert first in page and second in page and page.index(first) < page.index(second)
    assert 'id="count-all">2<' in page
    only = text(clerk.get("/inbox?category=E0101"))
    assert second in only and first not in only
    bad = clerk.get("/inbox?flag=late&category=rubbish")
    shown = text(bad).split('<p class="error" role="alert">')[1].split("</p>")[0]
    assert bad.status_code == 200 and "显示：须为以下之一：超期、临期。" in shown and "类别：" in shown
    partial = text(clerk.get("/inbox?partial=1"))
    assert partial.lstrip().startswith('<div id="inbox-body"') and "<html" not in partial
    r = clerk.post("/inbox/filters", data={"csrf_token": clerk.csrf, "name": "乱建", "category": "E0101"})
    assert r.status_code == 302
    page = text(clerk.get("/inbox"))
    assert '乱建 <span class="count">1</span>' in page and "?category=E0101" in page


def test_inbox_pages_through_many_tasks(client_for, app, demo_db):
    worker = client_for("grid_dhm_01")
    for _ in range(55):
        report(worker)
    clerk = client_for("clerk_dhm")
    page = text(clerk.get("/inbox"))
    assert page.count('class="task ') == 50 and "rows=1" in page
    more = text(clerk.get("/inbox?offset=50&rows=1"))
    assert more.count('class="task ') == 5 and "rows=1" not in more


def test_claim_unclaim_and_assign_from_the_pages(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    code = reported_code(report(worker))
    task_id = open_task(demo_db, code, "accept")
    clerk = client_for("clerk_dhm")
    clerk.post(f"/tasks/{task_id}/claim", data={"csrf_token": clerk.csrf})
    page = text(clerk.get(f"/tasks/{task_id}"))
    assert "已指派给 陈静" in page
    other = client_for("clerk_district")
    r = other.post(f"/tasks/{task_id}/claim", data={"csrf_token": other.csrf}, follow_redirects=True)
    assert "already claimed by 陈静" in text(r)
    leader = client_for("leader_dhm")
    page = text(leader.get(f"/tasks/{task_id}"))
    assert 'name="assignee"' in page and "clerk_district" in page
    leader.post(f"/tasks/{task_id}/assign", data={"csrf_token": leader.csrf, "assignee": "clerk_district"})
    with demo_db() as s:
        assert s.get(Task, task_id).assignee.username == "clerk_district"
    r = leader.post(f"/tasks/{task_id}/assign", data={"csrf_token": leader.csrf, "assignee": "grid_dhm_01"},
                    follow_redirects=True)
    assert "程晨" in text(r)  # grid_dhm_01 cannot take an acceptance task: named in the message
    assert clerk.post(f"/tasks/{task_id}/assign", data={"csrf_token": clerk.csrf, "assignee": "clerk_dhm"}).status_code == 403


# -- task page ---------------------------------------------------------------------------------------
def test_task_form_renders_from_formdata_and_validates_inline(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    code = reported_code(report(worker))
    task_id = open_task(demo_db, code, "accept")
    clerk = client_for("clerk_dhm")
    page = text(clerk.get(f"/tasks/{task_id}"))
    assert 'type="radio" name="decision" value="file"' in page and "立案" in page and "受理决定" in page
    # Cancelling needs a reason: the error is beside the field and the note typed is kept.
    r = clerk.post(f"/tasks/{task_id}", data={"csrf_token": clerk.csrf, "decision": "cancel",
                                              "accept_note": "我的说明"})
    body = text(r)
    assert r.status_code == 422 and "我的说明" in body
    error_at = body.index('class="field-error"')
    assert body.rindex('id="field-cancel_reason"', 0, error_at) > body.rindex('id="field-', 0, error_at) - 1
    assert 'value="cancel" checked' in body
    with demo_db() as s:
        assert s.get(Task, task_id).status == "open"
    r = clerk.post(f"/tasks/{task_id}", data={"csrf_token": clerk.csrf, "decision": "file", "accept_note": "属实"})
    assert r.status_code == 302
    assert case_by_code(demo_db, code).stage == "dispatch"


def test_someone_else_completing_first_is_said_plainly_and_input_kept(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    code = reported_code(report(worker))
    task_id = open_task(demo_db, code, "accept")
    clerk = client_for("clerk_dhm")
    district = client_for("clerk_district")
    district.get(f"/tasks/{task_id}")
    version = case_by_code(demo_db, code).version
    clerk.post(f"/tasks/{task_id}", data={"csrf_token": clerk.csrf, "decision": "file"})
    r = district.post(f"/tasks/{task_id}", data={"csrf_token": district.csrf, "decision": "file",
                                                 "accept_note": "我也核实过", "case_version": str(version)})
    body = text(r)
    assert r.status_code == 409 and "陈静" in body and "我也核实过" in body


def test_feedback_photos_become_attachments_and_fill_the_photo_field(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    code = reported_code(report(worker))
    handler = to_handling(client_for, demo_db, code)
    handler.post(f"/tasks/{open_task(demo_db, code, 'handle')}", data={"csrf_token": handler.csrf, "action": "done"})
    feedback = open_task(demo_db, code, "feedback")
    assert 'type="file" name="photos"' in text(handler.get(f"/tasks/{feedback}"))
    # A non-photo is refused, naming the field; nothing moves.
    r = handler.post(f"/tasks/{feedback}", data={"csrf_token": handler.csrf, "result": "已清运",
                                                 "photos": (io.BytesIO(b"%PDF-1.4"), "x.pdf")},
                     content_type="multipart/form-data")
    assert r.status_code == 422 and "已清运" in text(r)
    r = handler.post(f"/tasks/{feedback}", data={"csrf_token": handler.csrf, "result": "已清运",
                                                 "photos": (io.BytesIO(png()), "after.png")},
                     content_type="multipart/form-data")
    assert r.status_code == 302
    case = case_by_code(demo_db, code)
    assert case.stage == "verify"
    page = text(worker.get(f"/cases/{code}"))
    assert "after.png" in page
    assert "1 张照片" in page and "att:" not in page.split('id="timeline"')[1].split("</ol>")[0]
    assert "区环境卫生服务中心" in page.split('id="timeline"')[1]  # the department by name, not "HW"
    thumb = worker.get(f"/cases/{code}/attachments/1/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"


# -- intake ------------------------------------------------------------------------------------------
def test_intake_preselects_the_workers_grid_and_keeps_input_on_errors(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    page = text(worker.get("/report"))
    assert f'value="{GRID}" selected' in page and 'name="self_handled"' in page and "E0102" in page
    r = report(worker, description="", lat="91", lng="", address="王府井大街1号")
    body = text(r)
    assert r.status_code == 422 and "王府井大街1号" in body
    assert body.count('class="field-error"') >= 2
    r = report(worker, self_handled="on", lat="39.9119", lng="116.3993",
               photos=[(io.BytesIO(png()), "before.png"), (io.BytesIO(png()[:-20] + b"x" * 20), "b2.png")])
    assert r.status_code == 422  # the broken second photo: nothing is reported
    with demo_db() as s:
        assert s.scalar(select(Case.id)) is None
    code = reported_code(report(worker, self_handled="on", lat="39.9119", lng="116.3993",
                                photos=(io.BytesIO(png()), "before.png")))
    case = case_by_code(demo_db, code)
    assert case.self_handled and case.source == "patrol" and case.lat == pytest.approx(39.9119)
    assert "before.png" in text(worker.get(f"/cases/{code}"))


def test_a_worker_cannot_report_into_another_grid(client_for):
    worker = client_for("grid_dhm_01")
    r = report(worker, grid_code=OTHER_GRID)
    assert r.status_code == 422 and "您不能在这个网格上报案件" in text(r)


def test_clerk_takes_a_hotline_report_with_reporter_details(client_for, demo_db):
    clerk = client_for("clerk_dhm")
    done = report(clerk, source="hotline", reporter_name="王女士", reporter_phone="13900001111")
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    code = re.search(r"GF\d{13}", text(done)).group(0)
    case = case_by_code(demo_db, code)
    assert (case.source, case.reporter_name) == ("hotline", "王女士")


# -- case page ---------------------------------------------------------------------------------------
def test_case_page_timeline_in_words_diagram_and_comments(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    code = reported_code(report(worker))
    clerk = client_for("clerk_dhm")
    clerk.post(f"/tasks/{open_task(demo_db, code, 'accept')}", data={"csrf_token": clerk.csrf, "decision": "file",
                                                                      "accept_note": "属实"})
    clerk.post(f"/cases/{code}/comments", data={"csrf_token": clerk.csrf, "body": "已电话联系"})
    page = text(clerk.get(f"/cases/{code}"))
    timeline = page.split('id="timeline"')[1].split("</ol>")[0]
    for words in ("程晨", "陈静", "受理决定", "立案", "属实"):
        assert words in timeline, words
    assert "已电话联系" in page and "{&#34;" not in timeline and '{"decision"' not in timeline
    path = json.loads(html.unescape(page.split("data-path='")[1].split("'")[0]))
    assert "accept" in path["done"] and "dispatch" in path["current"]
    xml = clerk.get(f"/cases/{code}/diagram.bpmn")
    assert xml.status_code == 200 and b"bpmndi:BPMNDiagram" in xml.data
    r = clerk.post(f"/cases/{code}/comments", data={"csrf_token": clerk.csrf, "body": "   "}, follow_redirects=True)
    assert "blank" in text(r) or "空" in text(r)


def test_duplicates_link_both_ways(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    original = reported_code(report(worker))
    dup = reported_code(report(worker))
    clerk = client_for("clerk_dhm")
    clerk.post(f"/tasks/{open_task(demo_db, dup, 'accept')}", data={"csrf_token": clerk.csrf, "decision": "duplicate",
                                                                     "duplicate_of": original})
    assert f"/cases/{original}" in text(clerk.get(f"/cases/{dup}"))
    assert f"/cases/{dup}" in text(clerk.get(f"/cases/{original}"))


# -- board and notices -------------------------------------------------------------------------------
def test_board_shows_overdue_by_department_and_street_live(client_for, app, demo_db, clock):
    worker = client_for("grid_dhm_01")
    code = reported_code(report(worker))
    to_handling(client_for, demo_db, code)
    supervisor = client_for("super_district")
    assert 'id="board-overdue">0<' in text(supervisor.get("/board"))
    clock.move_to(WEDNESDAY_10 + timedelta(days=1))
    sweep(app.extensions["gridflow.sessions"], app.extensions["gridflow.runtime"])
    supervisor = client_for("super_district")
    body = text(supervisor.get("/board?partial=1"))
    assert 'id="board-overdue">1<' in body and "环境卫生" in body and "东华门街道" in body
    assert "department=HW" in body and code in body.split('id="supervise-tasks"')[1]
    assert code in text(supervisor.get("/cases?flag=overdue&department=HW"))
    assert code in text(supervisor.get("/cases?late=department&department=HW"))
    assert code not in text(supervisor.get("/cases?late=centre"))
    owners = body.split('id="by-owner"')[1].split("</table>")[0]
    assert 'data-owner="department"' in owners and "本月超时环节" in body and "本月结案率" in body
    notices = text(client_for("handler_hw").get("/notifications"))
    assert code in notices


def test_the_board_puts_the_centres_late_acceptance_on_the_centre_not_on_a_department(client_for, app, clock):
    code = reported_code(report(client_for("grid_dhm_01")))
    clock.move_to(WEDNESDAY_10 + timedelta(days=1))       # acceptance (1 working hour) is late
    sweep(app.extensions["gridflow.sessions"], app.extensions["gridflow.runtime"])
    body = text(client_for("super_district").get("/board?partial=1"))
    departments = body.split('id="by-department"')[1].split("</table>")[0]
    assert "未派遣至部门" not in departments and "department=" not in departments
    centre = body.split('data-owner="centre"')[1].split("</tr>")[0]
    assert ">1</a>" in centre
    assert code in text(client_for("super_district").get("/cases?late=centre"))


def test_missing_holiday_data_is_told_to_the_admin_who_can_add_it(client_for, clock):
    clock.move_to(datetime(2027, 3, 1, 10, 0, tzinfo=SH))
    page = text(client_for("admin").get("/inbox"))
    assert "calendar-warning" in page and "2027" in page and "calendar.toml" in page
    assert "calendar-warning" not in text(client_for("super_district").get("/board"))
    assert "calendar-warning" not in text(client_for("clerk_dhm").get("/inbox"))


# -- languages and roles -----------------------------------------------------------------------------
def test_english_shows_process_labels_in_english(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    code = reported_code(report(worker))
    clerk = client_for("clerk_dhm")
    clerk.post("/lang", data={"csrf_token": clerk.csrf, "lang": "en"})
    page = text(clerk.get(f"/tasks/{open_task(demo_db, code, 'accept')}"))
    assert "Decision" in page and "File" in page and "Accept and file" in page


def test_an_upload_over_the_request_limit_gets_a_page_not_a_crash(app, client_for):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    worker = client_for("grid_dhm_01")
    r = report(worker, photos=(io.BytesIO(b"x" * 5000), "big.png"))
    assert r.status_code == 413 and "10" in text(r)


def test_area_filter_offers_the_users_streets_communities_and_grids(client_for):
    clerk = text(client_for("clerk_dhm").get("/inbox"))
    assert 'value="110101001"' in clerk and 'value="110101001001"' in clerk and f'value="{GRID}"' in clerk
    assert 'value="110101003"' not in clerk  # another street
    handler = text(client_for("handler_hw").get("/inbox"))
    assert 'value="110101003"' in handler  # a department works across the district


# -- what a decision shows; forms of a later round ---------------------------------------------------
def test_dispatch_page_offers_departments_by_name_and_the_rule_behind_the_recommendation(client_for, demo_db):
    worker, clerk, dispatcher = client_for("grid_dhm_01"), client_for("clerk_dhm"), client_for("dispatch_dhm")
    code = reported_code(report(worker))
    clerk.post(f"/tasks/{open_task(demo_db, code, 'accept')}", data={"csrf_token": clerk.csrf, "decision": "file"})
    page = text(dispatcher.get(f"/tasks/{open_task(demo_db, code, 'dispatch')}"))
    assert '<select id="in-department_code" name="department_code"' in page
    assert 'value="HW" selected>' in page and "暴露垃圾：派遣区环境卫生服务中心" in page


def test_the_approver_sees_what_is_asked_and_a_rework_form_is_empty(client_for, demo_db):
    worker, leader = client_for("grid_dhm_01"), client_for("leader_dhm")
    code = reported_code(report(worker))
    handler = to_handling(client_for, demo_db, code)
    handler.post(f"/tasks/{open_task(demo_db, code, 'handle')}",
                 data={"csrf_token": handler.csrf, "action": "extend", "extension_hours": "4",
                       "extension_reason": "等清运车"})
    page = text(leader.get(f"/tasks/{open_task(demo_db, code, 'approve_extension')}"))
    for shown in ("申请延期(小时)", "等清运车", "当前期限", "延期后期限"):
        assert shown in page
    leader.post(f"/tasks/{open_task(demo_db, code, 'approve_extension')}",
                data={"csrf_token": leader.csrf, "approval": "approve"})
    handler.post(f"/tasks/{open_task(demo_db, code, 'handle')}", data={"csrf_token": handler.csrf, "action": "done"})
    feedback = open_task(demo_db, code, "feedback")
    handler.post(f"/tasks/{feedback}", data={"csrf_token": handler.csrf, "result": "已清运"},
                 content_type="multipart/form-data")
    worker.post(f"/tasks/{open_task(demo_db, code, 'verify')}",
                data={"csrf_token": worker.csrf, "verify_result": "fail", "verify_note": "现场仍有垃圾残留"})
    page = text(handler.get(f"/tasks/{open_task(demo_db, code, 'handle')}"))
    assert "现场仍有垃圾残留" in page and "checked" not in page and "等清运车" not in page


def test_the_report_form_sent_twice_makes_one_case(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    form = text(worker.get("/report"))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    first = report(worker, idempotency_key=key)
    code = reported_code(first)
    second = report(worker, idempotency_key=key)               # a double click, or a resend after a lost answer
    assert reported_code(second) == code
    with demo_db() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.description == "路边堆放生活垃圾")) == 1
    # The same form with other answers is not silently taken for the first case.
    changed = report(worker, idempotency_key=key, address="东华门大街1号")
    assert changed.status_code == 422 and "此表单已以不同内容提交过" in text(changed)
    fresh = re.search(r'name="idempotency_key" value="([^"]+)"', text(changed)).group(1)
    assert fresh != key and reported_code(report(worker, idempotency_key=fresh, address="东华门大街1号")) != code


def test_case_search_pages_on_by_cursor_and_a_mangled_link_shows_the_first_page(app, demo_db, clock):
    from demo.generate import generate_cases

    generate_cases(demo_db, app.extensions["gridflow.runtime"], 60, seed=3)
    client = app.test_client()
    sign_in(client, "super_district")
    first = text(client.get("/cases"))
    assert "60 cases" in first or "60 件" in first
    next_link = html.unescape(first.split('class="pager">')[1]).split('href="')[-1].split('"')[0]
    assert "cursor=" in next_link and "offset=" not in next_link
    second = text(client.get(next_link))
    codes = lambda page: {part.split('"')[0] for part in page.split('href="/cases/')[1:]}
    assert len(codes(first)) == 50 and len(codes(second)) == 10 and not codes(first) & codes(second)
    mangled = client.get("/cases?cursor=%%%broken")
    assert mangled.status_code == 200 and codes(text(mangled)) == codes(first)


def test_board_lists_supervision_orders_a_page_at_a_time(client_for, app, demo_db, clock):
    worker = client_for("grid_dhm_01")
    codes = []
    for minute in (0, 5, 10):                                   # acceptance due 11:00, 11:05, 11:10
        clock.move_to(WEDNESDAY_10 + timedelta(minutes=minute))
        codes.append(reported_code(report(worker)))
    clock.move_to(WEDNESDAY_10 + timedelta(hours=1, minutes=11))
    sweep(app.extensions["gridflow.sessions"], app.extensions["gridflow.runtime"])
    supervisor = client_for("super_dhm")
    first = text(supervisor.get("/board?limit=2"))
    rows = first.split('id="supervise-tasks"')[1].split("</table>")[0]
    assert [c for c in codes if c in rows] == codes[:2]         # oldest first
    assert rows.count('class="late-stage">受理<') == 2 and rows.count('class="street">东华门街道<') == 2
    assert 'class="overdue-for">11 分钟<' in rows               # the first case: accept due 11:00
    assert 'id="supervision-total">3<' in first and "offset=2" in first and 'rel="prev"' not in first
    second = text(supervisor.get("/board?offset=2&limit=2"))
    rows = second.split('id="supervise-tasks"')[1].split("</table>")[0]
    assert [c for c in codes if c in rows] == codes[2:] and 'rel="prev"' in second and 'rel="next"' not in second
    bad = text(supervisor.get("/board?offset=-1&limit=500"))   # the first page, with the rules broken
    assert "须为 0 至 1000000000 之间的整数" in bad and "须为 1 至 100 之间的整数" in bad and codes[0] in bad
    assert codes[0] not in text(client_for("super_jdk").get("/board"))   # another street's board

    # the order, issued to the street centre: its reply state is shown and the reply has its own clock
    task_id = open_task(demo_db, codes[0], "supervise")
    supervisor.post(f"/tasks/{task_id}", data={"csrf_token": supervisor.csrf, "supervision_unit": "",
                                               "supervision_note": "说明超时原因", "supervision_level": "general"})
    rows = text(supervisor.get("/board")).split('id="supervise-tasks"')[1].split("</table>")[0]
    first_row = next(r for r in rows.split("<tr") if codes[0] in r)
    assert "督办待答复" in first_row and "街道中心" in first_row
    page = text(client_for("leader_dhm").get(f"/cases/{codes[0]}"))
    section = page.split('id="supervision"')[1].split("</section>")[0]
    assert "说明超时原因" in section and "一般督办" in section and "街道中心" in section and "受理" in section
