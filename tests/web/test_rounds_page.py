"""The rating rounds pages: an admin opens a round, a community scores a department (errors beside
the fields, input kept), the results show within scope; in Chinese and English."""
from __future__ import annotations

from tests.engine.conftest import Driver
from tests.engine.test_two_way import closed_case
from tests.web.pages import sign_in, text


def handled_case(demo_db, settings):
    driver = Driver(demo_db, settings)
    closed_case(driver, "HW")
    driver.close()


def as_user(app, username):
    client = app.test_client()
    return client, sign_in(client, username)


def test_open_score_and_read_a_round(app, demo_db, settings, clock):
    handled_case(demo_db, settings)
    admin, token = as_user(app, "admin")
    page = admin.get("/assessment/rounds")
    assert page.status_code == 200 and "开启评议" in text(page)
    bad = admin.post("/assessment/rounds", data={"name": "", "unit": "110101", "period_start": "2026-12-31",
                                                 "period_end": "2026-10-01", "csrf_token": token})
    assert bad.status_code == 422 and "不能早于" in text(bad)
    opened = admin.post("/assessment/rounds", data={"name": "2026年第四季度", "unit": "110101", "csrf_token": token,
                                                    "period_start": "2026-10-01", "period_end": "2026-12-31"})
    assert opened.status_code == 302
    url = opened.headers["Location"]

    community, token = as_user(app, "comm_nanchizi")
    sheet = text(community.get(url))
    assert 'data-department="HW"' in sheet and "响应速度" in sheet
    wrong = community.post(url + "/scores", data={"community": "110101001001", "department": "HW", "csrf_token": token,
                                                  "score.response": "12", "score.quality": "8", "score.cooperation": "9"})
    assert wrong.status_code == 422 and 'value="12"' in text(wrong) and "须在 0 到 10 之间" in text(wrong)
    saved = community.post(url + "/scores", data={"community": "110101001001", "department": "HW", "comment": "好",
                                                  "score.response": "10", "score.quality": "8", "score.cooperation": "9",
                                                  "csrf_token": token})
    assert saved.status_code == 302
    results = text(community.get(url))
    assert "总分 89" in results and '<tr data-department="HW">' in results

    department, _ = as_user(app, "handler_cg")
    assert '<tr data-department="HW">' not in text(department.get(url))
    district, token = as_user(app, "leader_district")
    district.post("/lang", data={"lang": "en", "next": url, "csrf_token": token})
    english = text(district.get(url))
    assert "Results" in english and "Speed of response" in english and '<tr data-department="HW">' in english


def test_the_rounds_link_is_for_who_opens_scores_or_reads_them_in_the_assessment_file(app, demo_db):
    for username, shown in (("admin", True), ("handler_hw", True), ("leader_dhm", True), ("clerk_dhm", False),
                            ("grid_dhm_01", True), ("dispatch_dhm", False)):
        client, _ = as_user(app, username)
        assert ('href="/assessment/rounds"' in text(client.get("/inbox"))) is shown, username
