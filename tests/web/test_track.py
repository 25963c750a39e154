"""Public tracking pages, the reporter's secret page (supplement, rating), rate limits (429 in
each endpoint's own shape) and the Open311 key commands."""
from __future__ import annotations


import pytest

from engine.access.links import create_open311_client
from web import create_app

REPORT = {"category_code": "E0102", "grid_code": "110101001001001", "address": "南池子大街12号",
          "description": "路边堆放生活垃圾，联系人王芳", "source": "hotline", "reporter_name": "王芳",
          "reporter_phone": "13900001111"}


pytestmark = pytest.mark.usefixtures("clock")


def report(client, token):
    response = client.post("/api/v1/cases", json=REPORT, headers=token("clerk_dhm"))
    assert response.status_code == 201
    body = response.get_json()
    return body["code"], body["tracking_url"].replace("http://localhost", "")


def complete(client, token, code, user, data):
    headers = token(user)
    task = next(t for t in client.get("/api/v1/tasks", headers=headers).get_json()["items"] if t["case_code"] == code)
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers).status_code == 200


TO_CLOSE = [("clerk_dhm", {"decision": "file"}),
            ("dispatch_dhm", {"level": "department", "department_code": "HW"}),
            ("handler_hw", {"sign_decision": "sign"}), ("handler_hw", {"action": "done"}),
            ("handler_hw", {"result": "已清运"}), ("clerk_dhm", {"satisfaction": "satisfied"}),
            ("grid_dhm_01", {"verify_result": "pass"}), ("leader_dhm", {})]


def test_public_json_shows_stage_and_timeline_without_personal_data(client, token):
    code, _ = report(client, token)
    complete(client, token, code, "clerk_dhm", {"decision": "file", "accept_note": "属实，王芳来电"})
    response = client.get(f"/track/{code}.json")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["stage"], body["stage_label"]) == ("open", "dispatch", "派遣中")
    assert body["category"] == {"code": "E0102", "name": "暴露垃圾", "group": "市容环境"}
    assert body["reported_at"] == "2026-11-25T10:00:00+08:00" and body["expected_completion"] is None
    assert [(e["event"], e["stage"]) for e in body["timeline"]] == [("reported", "accept"), ("stage", "dispatch")]
    assert "description" not in body
    text = response.data.decode()
    for secret in ("王芳", "13900001111", "属实", "陈静", "clerk_dhm", "受理立案"):
        assert secret not in text
    assert client.get(f"/track/{code}.json?lang=en").get_json()["stage_label"] == "Being assigned"


def test_public_page_is_chinese_by_default_and_english_on_request(client, token):
    code, _ = report(client, token)
    page = client.get(f"/track/{code}").data.decode()
    assert "案件查询" in page and "受理中" in page and "王芳" not in page and "13900001111" not in page
    english = client.get(f"/track/{code}?lang=en").data.decode()
    assert "Case tracking" in english and "Being reviewed" in english
    assert client.get("/track/GF2026112599999").status_code == 404
    assert client.get("/track/GF2026112599999.json").mimetype == "application/problem+json"


def test_without_the_secret_a_case_shows_its_community_not_its_address(client, token):
    code, link = report(client, token)
    public = client.get(f"/track/{code}.json").get_json()
    assert public["address"] == "南池子社区" and public["agency"] == "东华门街道网格化服务管理中心"
    page = client.get(f"/track/{code}").data.decode()
    assert "南池子社区" in page and "南池子大街12号" not in page
    mine = client.get(link, headers={"Accept": "application/json"}).get_json()
    assert mine["address"] == "南池子大街12号"  # the reporter sees their own address
    assert "南池子大街12号" in client.get(link).data.decode()


def test_walking_sequential_codes_gathers_no_addresses_and_no_internal_cases(client, token):
    resident, _ = report(client, token)
    patrol = {**REPORT, "source": "patrol", "address": "东华门大街5号院内", "reporter_name": "", "reporter_phone": ""}
    made = client.post("/api/v1/cases", json=patrol, headers=token("grid_dhm_01"))
    assert made.status_code == 201
    internal = made.get_json()["code"]
    assert (resident, internal) == ("GF2026112500001", "GF2026112500002")
    walked = [client.get(f"/track/GF20261125{n:05d}{suffix}") for n in range(1, 5) for suffix in ("", ".json")]
    assert [r.status_code for r in walked] == [200, 200] + [404] * 6  # the patrol case is not public
    gathered = "".join(r.data.decode() for r in walked)
    assert "南池子大街" not in gathered and "东华门大街" not in gathered and "暴露垃圾" in gathered


def test_which_cases_are_public_and_how_precisely_are_settings(demo_db, database_url, token):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "PUBLIC_SOURCES": ["hotline", "patrol"], "PUBLIC_LOCATION": "address"})
    client = app.test_client()  # the token fixture's bearer tokens live in the shared database
    code, _ = report(client, token)
    patrol = {**REPORT, "source": "patrol", "reporter_name": "", "reporter_phone": ""}
    internal = client.post("/api/v1/cases", json=patrol, headers=token("grid_dhm_01")).get_json()["code"]
    assert client.get(f"/track/{code}.json").get_json()["address"] == "南池子大街12号"
    assert client.get(f"/track/{internal}.json").status_code == 200


def test_a_mistyped_public_setting_stops_the_app(demo_db, database_url):
    from engine.settings import SettingsError
    for bad, needle in [({"PUBLIC_LOCATION": "house"}, "PUBLIC_LOCATION"),
                        ({"PUBLIC_SOURCES": "patrol"}, "PUBLIC_SOURCES"),
                        ({"PUBLIC_COORDINATE_DECIMALS": 2.5}, "PUBLIC_COORDINATE_DECIMALS")]:
        with pytest.raises(SettingsError, match=needle):
            create_app({"DATABASE_URL": database_url, **bad})


def test_reporter_adds_information_when_asked(client, token):
    code, link = report(client, token)
    assert client.post(f"{link}/supplement", data={"text": "门牌号是12号"}).status_code == 409  # not asked yet
    complete(client, token, code, "clerk_dhm", {"decision": "supplement", "supplement_request": "请补充具体门牌号"})
    page = client.get(link).data.decode()
    assert "请补充具体门牌号" in page and 'name="text"' in page and "联系人王芳" in page  # the reporter sees their words
    response = client.post(f"{link}/supplement", data={"text": "南池子大街12号门口"})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200
    assert client.get(f"/track/{code}.json").get_json()["stage"] == "accept"
    bad = client.post(f"{link}/supplement", json={"text": "x"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_reporter_rates_once_and_dissatisfied_reopens_for_the_shift_leader(client, token):
    code, link = report(client, token)
    assert client.post(f"{link}/rating", json={"satisfaction": "satisfied"}).status_code == 409  # not closed
    for user, data in TO_CLOSE:
        complete(client, token, code, user, data)
    mine = client.get(link, headers={"Accept": "application/json"}).get_json()
    assert mine["can_rate"] and mine["status"] == "closed" and mine["stage_label"] == "已办结，欢迎评价"
    response = client.post(f"{link}/rating", json={"satisfaction": "dissatisfied", "comment": "没清干净"})
    assert response.status_code == 200 and response.get_json()["rating"]["satisfaction"] == "dissatisfied"
    assert client.post(f"{link}/rating", data={"satisfaction": "satisfied"}).status_code == 409  # once
    assert client.get(f"/open311/v2/requests/{code}.json").get_json()[0]["status"] == "closed"
    complete(client, token, code, "leader_dhm", {"review_decision": "reopen", "review_note": "重新清运"})
    public = client.get(f"/track/{code}.json").get_json()
    assert (public["status"], public["stage"], public["closed_at"]) == ("open", "handle", None)
    assert public["timeline"][-1]["event"] == "reopened"
    assert client.get(f"/open311/v2/requests/{code}.json").get_json()[0]["status"] == "open"


def test_a_wrong_secret_is_not_found(client, token):
    code, link = report(client, token)
    assert client.get(link[:-2] + "xx").status_code == 404
    assert client.post(f"/track/{code}/guess/rating", json={"satisfaction": "satisfied"}).status_code == 404


@pytest.fixture
def strict_app(demo_db, database_url):
    return create_app({"DATABASE_URL": database_url, "TESTING": True,
                       "RATE_LIMIT_INTAKE": "2/minute", "RATE_LIMIT_TRACKING": "3/minute"})


def test_rate_limits_answer_429_in_each_shape(strict_app, demo_db, clock):
    client = strict_app.test_client()
    with demo_db() as session:
        key = create_open311_client(session, strict_app.extensions["gridflow.runtime"], "app")
        session.commit()
    for _ in range(3):
        assert client.get("/track/GF2026112599999.json").status_code == 404
    limited = client.get("/track/GF2026112599999.json")
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert limited.headers["Retry-After"] == "60"
    page = client.get("/track/GF2026112599999")
    assert page.status_code == 429 and "请等待" in page.data.decode()
    o311 = client.get("/open311/v2/services.json")
    assert o311.status_code == 429 and o311.get_json()[0]["code"] == 429
    other = strict_app.test_client()
    assert other.get("/track/X.json", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 404  # per address

    form = {"api_key": key, "service_code": "E0102", "lat": "39.9119", "long": "116.3993"}
    assert [client.post("/open311/v2/requests.xml", data=form).status_code for _ in range(3)] == [201, 201, 429]
    clock.shift(60)  # the next window
    assert client.post("/open311/v2/requests.json", data=form).status_code == 201


def test_client_address_comes_from_the_proxy_only_when_configured(demo_db, database_url):
    app = create_app({"DATABASE_URL": database_url, "RATE_LIMIT_TRACKING": "1/minute", "RATE_LIMIT_PROXIES": 1})
    client = app.test_client()
    fwd = lambda ip: {"X-Forwarded-For": f"1.2.3.4, {ip}"}
    assert client.get("/track/X.json", headers=fwd("5.5.5.5")).status_code == 404
    assert client.get("/track/X.json", headers=fwd("5.5.5.5")).status_code == 429
    assert client.get("/track/X.json", headers=fwd("6.6.6.6")).status_code == 404


def test_open311_key_commands(app, demo_db):
    from click.testing import CliRunner
    from cli.main import main
    runner = CliRunner()
    created = runner.invoke(main, ["open311", "keys", "create", "街道App"], env={"GRIDFLOW_DATABASE_URL": app.config["DATABASE_URL"]})
    assert created.exit_code == 0 and created.output.startswith("o311_")
    again = runner.invoke(main, ["open311", "keys", "create", "街道App"], env={"GRIDFLOW_DATABASE_URL": app.config["DATABASE_URL"]})
    assert again.exit_code == 1 and "already exists" in again.output
    listed = runner.invoke(main, ["open311", "keys", "list"], env={"GRIDFLOW_DATABASE_URL": app.config["DATABASE_URL"]})
    assert "街道App" in listed.output and "active" in listed.output
    revoked = runner.invoke(main, ["open311", "keys", "revoke", "街道App"], env={"GRIDFLOW_DATABASE_URL": app.config["DATABASE_URL"]})
    assert revoked.exit_code == 0
    client = app.test_client()
    form = {"api_key": created.output.strip(), "service_code": "E0102", "lat": "39.9119", "long": "116.3993"}
    assert client.post("/open311/v2/requests.json", data=form).status_code == 403
    assert "revoked" in runner.invoke(main, ["open311", "keys", "list"],
                                      env={"GRIDFLOW_DATABASE_URL": app.config["DATABASE_URL"]}).output
