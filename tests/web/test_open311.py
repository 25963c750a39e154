"""Open311 GeoReport v2, driven as a client written from the spec's examples would: every
field of the JSON and XML shapes, and bad input answered with the spec's error list."""
from __future__ import annotations

from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

import pytest

from engine.access.links import create_open311_client
from web import create_app

from tests.statements import statements
from tests.timekeeping import SH

BASE = "/open311/v2"
NANCHIZI_1 = {"lat": "39.9119", "long": "116.3993"}  # inside grid 110101001001001
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]


pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def api_key(app, demo_db):
    with demo_db() as session:
        key = create_open311_client(session, app.extensions["gridflow.runtime"], "resident-app")
        session.commit()
    return key


def post(client, key, fmt="json", **fields):
    form = {"api_key": key, "service_code": "E0102", "description": "路边堆放生活垃圾", **NANCHIZI_1}
    form.update(fields)
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in form.items() if v is not None})


def spec_errors(response, status):
    assert response.status_code == status
    if response.mimetype == "text/xml":
        root = ET.fromstring(response.data)
        assert root.tag == "errors"
        return [(int(e.findtext("code")), e.findtext("description")) for e in root.findall("error")]
    body = response.get_json()
    assert isinstance(body, list) and all(set(e) == {"code", "description"} for e in body)
    return [(e["code"], e["description"]) for e in body]


def test_services_list_the_catalogue_in_json_and_xml(client):
    services = client.get(f"{BASE}/services.json").get_json()
    assert len(services) == 74
    garbage = next(s for s in services if s["service_code"] == "E0102")
    assert garbage == {"service_code": "E0102", "service_name": "暴露垃圾", "description": "市容环境 / 暴露垃圾",
                       "metadata": False, "type": "realtime", "group": "市容环境",
                       "keywords": garbage["keywords"]} and "Exposed garbage" in garbage["keywords"]
    assert next(s for s in services if s["service_code"] == "C0110")["metadata"] is True
    english = client.get(f"{BASE}/services.json?lang=en").get_json()
    assert next(s for s in english if s["service_code"] == "E0102")["group"] != "市容环境"

    response = client.get(f"{BASE}/services.xml")
    assert response.mimetype == "text/xml" and response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(response.data)
    assert root.tag == "services" and len(root.findall("service")) == 74
    light = next(s for s in root.findall("service") if s.findtext("service_code") == "C0110")
    assert [c.tag for c in light] == ["service_code", "service_name", "description", "metadata", "type",
                                      "keywords", "group"]
    assert (light.findtext("metadata"), light.findtext("type"), light.findtext("group")) == ("true", "realtime", "公用设施")


def test_a_service_definition_lists_its_attributes(client):
    body = client.get(f"{BASE}/services/C0110.json").get_json()
    assert body["service_code"] == "C0110"
    fault = next(a for a in body["attributes"] if a["code"] == "LIGHT_FAULT")
    assert fault == {"variable": True, "code": "LIGHT_FAULT", "datatype": "singlevaluelist", "required": True,
                     "datatype_description": None, "order": 2, "description": "故障现象",
                     "values": fault["values"]}
    assert {"key": "off", "name": "不亮"} in fault["values"]
    root = ET.fromstring(client.get(f"{BASE}/services/C0110.xml").data)
    assert root.tag == "service_definition" and root.findtext("service_code") == "C0110"
    attr = root.find("attributes").findall("attribute")[1]
    assert [c.tag for c in attr] == ["variable", "code", "datatype", "required", "datatype_description", "order",
                                     "description", "values"]
    assert attr.find("values").find("value").findtext("key") == "off"
    assert client.get(f"{BASE}/services/E0102.json").get_json() == {"service_code": "E0102", "attributes": []}
    assert spec_errors(client.get(f"{BASE}/services/X9999.json"), 404)[0][0] == 404


def test_post_request_makes_a_case_in_the_grid_of_the_point(client, api_key, token):
    response = post(client, api_key, first_name="芳", last_name="王", phone="13900001111", email="wang@example.org",
                    media_url="https://img.example.org/1.jpg", address_string="南池子大街12号")
    assert response.status_code == 201
    [receipt] = response.get_json()
    # Intake is synchronous: the spec's receipt carries service_request_id and no token.
    assert set(receipt) == {"service_request_id", "service_notice", "account_id"}
    code = receipt["service_request_id"]
    assert code.startswith("GF20261125") and receipt["account_id"] is None
    case = client.get(f"/api/v1/cases/{code}", headers=token("clerk_dhm")).get_json()
    assert (case["grid"]["code"], case["source"], case["stage"]) == ("110101001001001", "open311", "accept")

    [req] = client.get(f"{BASE}/requests/{code}.json").get_json()
    assert list(req) == REQUEST_FIELDS
    assert (req["status"], req["status_notes"], req["service_code"], req["service_name"]) == \
        ("open", "受理中", "E0102", "暴露垃圾")
    assert req["requested_datetime"] == "2026-11-25T10:00:00+08:00" == req["updated_datetime"]
    assert req["expected_datetime"] == "2026-11-25T11:00:00+08:00"  # acceptance: 1 working hour
    # The public sees the community and a point rounded to about 1 km, not the address.
    assert (req["address"], req["address_id"], req["lat"], req["long"]) == \
        ("南池子社区", "110101001001", 39.91, 116.4)
    assert req["media_url"] == "https://img.example.org/1.jpg"
    assert req["agency_responsible"] == "东华门街道网格化服务管理中心"
    assert req["description"] == "市容环境 / 暴露垃圾"  # the service, not the reporter's words
    text = response.data.decode() + client.get(f"{BASE}/requests/{code}.json").data.decode()
    assert "13900001111" not in text and "wang@example.org" not in text and "王" not in text.replace("王府", "")
    assert "南池子大街" not in text and "路边堆放" not in text


def test_tokens_of_earlier_receipts_still_answer(client, api_key, demo_db):
    from models import Open311Request
    code = post(client, api_key).get_json()[0]["service_request_id"]
    with demo_db() as session:
        stored = session.query(Open311Request).one().token
    [by_token] = client.get(f"{BASE}/tokens/{stored}.json").get_json()
    assert by_token == {"service_request_id": code, "token": stored}
    assert ET.fromstring(client.get(f"{BASE}/tokens/{stored}.xml").data).find("request") \
        .findtext("service_request_id") == code


def test_the_tracking_link_is_sent_only_to_clients_asking_for_extensions(client, api_key):
    [plain] = post(client, api_key).get_json()
    assert "tracking_url" not in str(plain) and "extended_attributes" not in plain
    [extended] = post(client, api_key, extensions="true").get_json()
    code = extended["service_request_id"]
    link = extended["extended_attributes"]["tracking_url"]
    assert link.startswith(f"http://localhost/track/{code}/")
    assert "南池子大街12号" not in client.get(f"/track/{code}").data.decode()
    assert client.get(link).status_code == 200

    [req] = client.get(f"{BASE}/requests/{code}.json?extensions=true").get_json()
    assert list(req) == REQUEST_FIELDS + ["extended_attributes"]
    assert req["extended_attributes"] == {"tracking_url": f"http://localhost/track/{code}"}  # no secret
    assert "extended_attributes" not in client.get(f"{BASE}/requests/{code}.json").get_json()[0]


def test_xml_request_and_receipt(client, api_key):
    response = post(client, api_key, fmt="xml")
    assert response.status_code == 201
    root = ET.fromstring(response.data)
    assert root.tag == "service_requests"
    receipt = root.find("request")
    assert [c.tag for c in receipt] == ["service_request_id", "service_notice", "account_id"]
    code = receipt.findtext("service_request_id")
    root = ET.fromstring(client.get(f"{BASE}/requests/{code}.xml").data)
    request = root.find("request")
    assert [c.tag for c in request] == REQUEST_FIELDS
    assert request.findtext("status") == "open" and request.findtext("lat") == "39.91"
    extended = ET.fromstring(post(client, api_key, fmt="xml", extensions="true").data).find("request")
    assert [c.tag for c in extended] == ["service_request_id", "service_notice", "account_id", "extended_attributes"]
    assert extended.find("extended_attributes").findtext("tracking_url").startswith("http://localhost/track/")


def test_discovery_document_describes_the_endpoint(client):
    body = client.get(f"{BASE}/discovery.json").get_json()
    assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
    assert datetime.fromisoformat(body["changeset"]).tzinfo is not None and body["contact"] and body["key_service"]
    [endpoint] = body["endpoints"]
    assert endpoint == {"specification": "http://wiki.open311.org/GeoReport_v2", "url": "http://localhost/open311/v2",
                        "changeset": body["changeset"], "type": "production",
                        "formats": ["text/xml", "application/json"]}
    root = ET.fromstring(client.get(f"{BASE}/discovery.xml").data)
    assert root.tag == "discovery" and root.findtext("contact") == body["contact"]
    node = root.find("endpoints").find("endpoint")
    assert [c.tag for c in node] == ["specification", "url", "changeset", "type", "formats"]
    assert [f.text for f in node.find("formats").findall("format")] == ["text/xml", "application/json"]


def test_location_by_address_or_grid_code(client, api_key, token):
    by_address = post(client, api_key, lat=None, long=None, address_string="东城区南池子大街8号").get_json()[0]
    by_grid = post(client, api_key, lat=None, long=None, address_id="110101002001002").get_json()[0]
    clerk = token("clerk_district")
    grid = lambda r: client.get(f"/api/v1/cases/{r['service_request_id']}", headers=clerk).get_json()["grid"]["code"]
    assert grid(by_address) == "110101001001001" and grid(by_grid) == "110101002001002"


def test_attributes_are_checked_against_the_definition(client, api_key, token):
    ok = post(client, api_key, service_code="C0110", **{"attribute[LIGHT_FAULT]": "off", "attribute[POLE_NUMBER]": "DC-0231"})
    assert ok.status_code == 201
    code = ok.get_json()[0]["service_request_id"]
    case = client.get(f"/api/v1/cases/{code}", headers=token("clerk_dhm")).get_json()
    assert "故障现象：不亮" in case["description"] and "DC-0231" in case["description"]
    missing = spec_errors(post(client, api_key, service_code="C0110"), 400)
    assert missing == [(400, "attribute[LIGHT_FAULT]: Required for this service.")]
    wrong = spec_errors(post(client, api_key, service_code="C0110", **{"attribute[LIGHT_FAULT]": "purple"}), 400)
    assert "Must be one of" in wrong[0][1]
    unknown = spec_errors(post(client, api_key, **{"attribute[COLOUR]": "red"}), 400)
    assert unknown[0][1].startswith("attribute[COLOUR]")


@pytest.mark.parametrize("fields, status, needle", [
    ({"key": None}, 403, "api_key"),
    ({"key": "o311_wrong"}, 403, "api_key"),
    ({"service_code": "E9999"}, 404, "service_code"),
    ({"service_code": None}, 400, "service_code: Required"),
    ({"service_code": ""}, 400, "service_code: Required"),
    ({"lat": None, "long": None}, 400, "location"),
    ({"lat": "north", "long": "116.39"}, 400, "lat"),
    ({"lat": "10.0", "long": "10.0"}, 422, "outside every grid"),
    ({"lat": None, "long": None, "address_string": "上海市浦东新区"}, 400, "address_string"),
    ({"lat": None, "long": None, "address_id": "999"}, 400, "address_id"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"email": "not-an-address"}, 400, "email"),
    ({"description": "x" * 4001}, 400, "description"),
])
def test_bad_posts_get_the_spec_error_list(client, api_key, fields, status, needle):
    for fmt in ("json", "xml"):
        listed = spec_errors(post(client, **{"key": api_key, "fmt": fmt, **fields}), status)
        assert listed and listed[0][0] == status and needle in listed[0][1] and "None" not in listed[0][1]


def test_a_revoked_key_is_refused(client, api_key, app, demo_db):
    from engine.access.links import revoke_open311_client
    with demo_db() as session:
        revoke_open311_client(session, app.extensions["gridflow.runtime"], "resident-app")
        session.commit()
    assert spec_errors(post(client, api_key), 403)


def test_get_requests_filters_and_defaults(client, api_key, clock):
    clock.move_to(datetime(2026, 8, 1, 10, 0, tzinfo=SH))
    old = post(client, api_key).get_json()[0]["service_request_id"]
    clock.move_to(datetime(2026, 11, 25, 10, 0, tzinfo=SH))
    garbage = post(client, api_key).get_json()[0]["service_request_id"]
    light = post(client, api_key, service_code="C0110", **{"attribute[LIGHT_FAULT]": "off"}).get_json()[0]["service_request_id"]

    ids = lambda q: [r["service_request_id"] for r in client.get(f"{BASE}/requests.json{q}").get_json()]
    assert ids("") == [light, garbage]                         # last 90 days, newest first
    assert ids("?service_code=C0110") == [light]
    assert ids("?service_code=C0110,E0102") == [light, garbage]
    assert ids("?status=closed") == [] and ids("?status=open") == [light, garbage]
    assert ids(f"?service_request_id={old},{light}") == [light, old]  # ids ignore the date window
    assert ids("?start_date=2026-07-01T00:00:00%2B08:00&end_date=2026-08-31T00:00:00Z") == [old]
    assert ids("?end_date=2026-08-31T00:00:00Z") == [old]      # 90 days before end_date
    root = ET.fromstring(client.get(f"{BASE}/requests.xml").data)
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [light, garbage]


@pytest.mark.parametrize("query, needle", [
    ("start_date=yesterday", "start_date"),
    ("end_date=2026-11-01T00:00:00", "time zone"),
    ("start_date=2026-11-02T00:00:00Z&end_date=2026-11-01T00:00:00Z", "start_date"),
    ("status=pending", "status"),
    ("service_code=garbage", "service_code"),
    ("service_request_id=GF1,%3Cscript%3E", "service_request_id"),
])
def test_bad_queries_get_400(client, query, needle):
    for fmt in ("json", "xml"):
        listed = spec_errors(client.get(f"{BASE}/requests.{fmt}?{query}"), 400)
        assert needle in listed[0][1]


def test_unknown_things_get_404_in_the_spec_shape(client):
    assert spec_errors(client.get(f"{BASE}/requests/GF2026112599999.json"), 404)
    assert spec_errors(client.get(f"{BASE}/requests/GF2026112599999.xml"), 404)
    assert spec_errors(client.get(f"{BASE}/tokens/nope.json"), 404)
    assert spec_errors(client.get(f"{BASE}/services.csv"), 404)
    assert spec_errors(client.get(f"{BASE}/discovery.csv"), 404)
    assert spec_errors(client.delete(f"{BASE}/requests.json"), 404)


def test_unknown_xml_paths_answer_in_xml(client):
    for response in (client.get(f"{BASE}/nothing.xml"), client.post(f"{BASE}/services/E0102/extra.xml")):
        assert response.mimetype == "text/xml"
        assert spec_errors(response, 404)[0][0] == 404
    assert client.get(f"{BASE}/nothing.json").mimetype == "application/json"


def test_closed_cases_read_closed_with_the_department(client, api_key, token):
    code = post(client, api_key).get_json()[0]["service_request_id"]
    steps = [("clerk_dhm", {"decision": "file"}),
             ("dispatch_dhm", {"level": "department", "department_code": "HW"}),
             ("handler_hw", {"sign_decision": "sign"})]
    for user, data in steps:
        headers = token(user)
        task = next(t for t in client.get("/api/v1/tasks", headers=headers).get_json()["items"] if t["case_code"] == code)
        assert client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers).status_code == 200
    [req] = client.get(f"{BASE}/requests/{code}.json").get_json()
    assert (req["status"], req["status_notes"]) == ("open", "处置中")
    assert req["agency_responsible"] and "街道" not in req["agency_responsible"]  # the department's name
    assert req["expected_datetime"] == "2026-11-25T15:30:00+08:00"  # 4 working hours, over lunch
    [en] = client.get(f"{BASE}/requests/{code}.json?lang=en").get_json()
    assert en["status_notes"] == "Being fixed"


def test_description_is_the_reporters_words_only_when_configured(demo_db, database_url):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "PUBLIC_SHOW_DESCRIPTION": True})
    client = app.test_client()
    with demo_db() as session:
        key = create_open311_client(session, app.extensions["gridflow.runtime"], "resident-app")
        session.commit()
    code = post(client, key).get_json()[0]["service_request_id"]
    [req] = client.get(f"{BASE}/requests/{code}.json").get_json()
    assert req["description"] == "路边堆放生活垃圾"
    assert ET.fromstring(client.get(f"{BASE}/requests.xml").data).find("request").findtext("description") == \
        "路边堆放生活垃圾"


def test_xml_stays_well_formed_whatever_the_reporter_typed(demo_db, database_url):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "PUBLIC_SHOW_DESCRIPTION": True,
                      "PUBLIC_LOCATION": "address"})
    client = app.test_client()
    with demo_db() as session:
        key = create_open311_client(session, app.extensions["gridflow.runtime"], "resident-app")
        session.commit()
    # Control characters are refused at the door (naming the field); tabs and line breaks pass.
    refused = post(client, key, address_string="南池子大街\x0b12号", description="垃圾堆放")
    assert refused.status_code == 400 and "address_string" in refused.get_json()[0]["description"]
    assert post(client, key, address_string="南池子大街12号", description="垃圾\t堆放\n<&>").status_code == 201
    response = client.get(f"{BASE}/requests.xml")
    assert response.status_code == 200
    request = ET.fromstring(response.data).find("request")  # a parse error here is what clients would hit
    assert request.findtext("address") == "南池子大街12号" and "<&>" in request.findtext("description")
    assert request.findtext("lat") == "39.9119"  # PUBLIC_LOCATION = "address" shows the point too


def test_internal_cases_are_not_open311_requests(client, api_key, token, demo_db, database_url):
    patrol = {"category_code": "E0102", "grid_code": "110101001001001", "address": "南池子大街3号",
              "description": "井盖缺失", "source": "patrol"}
    made = client.post("/api/v1/cases", json=patrol, headers=token("grid_dhm_01"))
    assert made.status_code == 201
    internal = made.get_json()["code"]
    resident = post(client, api_key).get_json()[0]["service_request_id"]
    ids = lambda c, q="": [r["service_request_id"] for r in c.get(f"{BASE}/requests.json{q}").get_json()]
    assert ids(client) == [resident]
    assert ids(client, f"?service_request_id={internal},{resident}") == [resident]
    assert spec_errors(client.get(f"{BASE}/requests/{internal}.json"), 404)
    configured = create_app({"DATABASE_URL": database_url, "TESTING": True,
                             "PUBLIC_SOURCES": ["open311", "patrol"]}).test_client()
    assert ids(configured) == [resident, internal]


def test_the_request_list_takes_the_same_few_queries_for_three_requests_or_thirty(app, client, api_key, clock):
    def queries_for_list() -> tuple[int, int]:
        with statements(app.extensions["gridflow.db"]) as seen:
            body = client.get(f"{BASE}/requests.json?extensions=true").get_json()
        return len(body), len(seen)

    for _ in range(3):
        assert post(client, api_key).status_code == 201
    assert post(client, api_key, service_code="C0110", **{"attribute[LIGHT_FAULT]": "off"}).status_code == 201
    few, few_queries = queries_for_list()
    for i in range(26):
        clock.shift(timedelta(seconds=5))  # within RATE_LIMIT_INTAKE
        assert post(client, api_key, address_string=f"南池子大街{i}号").status_code == 201
    many, many_queries = queries_for_list()
    assert (few, many) == (4, 30)
    assert many_queries == few_queries <= 8, (few_queries, many_queries)
