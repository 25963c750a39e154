"""/api/v1/assessment/two-way and /assessment/rounds: figures by scope, opening a round, scoring,
results, and bad input answered 422 naming the field with nothing written."""
from __future__ import annotations

from tests.engine.conftest import Driver
from tests.engine.test_two_way import closed_case
from tests.web.test_api import field_errors

PERIOD = "from=2026-11-01&to=2026-11-30"


def rated_cases(demo_db, settings):
    driver = Driver(demo_db, settings)
    for department, rating in (("HW", "satisfied"), ("HW", "dissatisfied"), ("CG", "basically")):
        case = closed_case(driver, department)
        driver.do(case, "rate_unit", "comm_nanchizi", unit_rating=rating, unit_rating_reason="不及时")
    driver.close()


def test_two_way_figures_and_the_ratings_behind_them(client, token, demo_db, settings, clock):
    rated_cases(demo_db, settings)
    district = client.get(f"/api/v1/assessment/two-way?{PERIOD}", headers=token("leader_district"))
    assert district.status_code == 200
    items = {i["key"]: i for i in district.get_json()["items"]}
    assert (items["HW"]["rated"], items["HW"]["satisfied"], items["HW"]["dissatisfied"]) == (2, 1, 1)
    assert items["HW"]["rating_score"] == 0.5 and items["CG"]["rating_score"] == 0.8
    assert items["HW"]["round_score"] is None and items["HW"]["name"] == "区环境卫生服务中心"
    own = client.get(f"/api/v1/assessment/two-way?{PERIOD}", headers=token("handler_hw")).get_json()["items"]
    assert [i["key"] for i in own] == ["HW"]
    behind = client.get(f"/api/v1/assessment/two-way/ratings?{PERIOD}&department=HW", headers=token("super_dhm"))
    assert sorted(r["rating"] for r in behind.get_json()["items"]) == ["dissatisfied", "satisfied"]
    bad = client.get("/api/v1/assessment/two-way?from=2026-11-31&to=x", headers=token("leader_district"))
    assert bad.status_code == 422 and field_errors(bad) == {"from", "to"}
    backwards = client.get("/api/v1/assessment/two-way?from=2026-11-30&to=2026-11-01", headers=token("admin"))
    assert backwards.status_code == 422 and field_errors(backwards) == {"to"}


def test_a_round_is_opened_scored_and_its_results_read_by_scope(client, token, demo_db, settings, clock):
    rated_cases(demo_db, settings)
    admin, community = token("admin"), token("comm_nanchizi")
    body = {"name": "2026年第四季度", "period_start": "2026-10-01", "period_end": "2026-12-31", "unit": "110101"}
    assert client.post("/api/v1/assessment/rounds", json=body, headers=token("leader_district")).status_code == 403
    created = client.post("/api/v1/assessment/rounds", json=body, headers=admin)
    assert created.status_code == 201
    rnd = created.get_json()
    assert [i["key"] for i in rnd["items"]] == ["response", "quality", "cooperation"] and rnd["unit"] == "110101"
    listed = client.get("/api/v1/assessment/rounds", headers=community).get_json()["items"]
    assert [(r["id"], r["may_score"]) for r in listed] == [(rnd["id"], True)]
    sheets = client.get(f"/api/v1/assessment/rounds/{rnd['id']}/sheets", headers=community).get_json()
    assert [r["department"] for r in sheets["sheets"][0]["rows"]] == ["CG", "HW"]
    url = f"/api/v1/assessment/rounds/{rnd['id']}/scores"
    bad = client.put(url, json={"community": "110101001001", "department": "HW",
                                "scores": {"response": 12, "quality": 5}}, headers=community)
    assert bad.status_code == 422 and field_errors(bad) == {"scores.response", "scores.cooperation"}
    scored = client.put(url, json={"community": "110101001001", "department": "HW", "comment": "配合好",
                                   "scores": {"response": 10, "quality": 9, "cooperation": 8}}, headers=community)
    assert scored.status_code == 200 and scored.get_json()["total"] == 90.0
    results = client.get(f"/api/v1/assessment/rounds/{rnd['id']}/results", headers=token("leader_dhm")).get_json()
    assert [(r["department"], r["communities"], r["total"]) for r in results["results"]] == [("HW", 1, 90.0)]
    assert client.get(f"/api/v1/assessment/rounds/{rnd['id']}/results",
                      headers=token("handler_cg")).get_json()["results"] == []
    figures = client.get("/api/v1/assessment/two-way?from=2026-10-01&to=2026-12-31", headers=admin).get_json()
    assert {i["key"]: i["round_score"] for i in figures["items"]} == {"HW": 90.0, "CG": None}
    closed = client.post(f"/api/v1/assessment/rounds/{rnd['id']}/close", headers=admin)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    late = client.put(url, json={"community": "110101001001", "department": "HW",
                                 "scores": {"response": 1, "quality": 1, "cooperation": 1}}, headers=community)
    assert late.status_code == 409
    other_street = client.get(f"/api/v1/assessment/rounds/{rnd['id']}/results", headers=token("leader_js"))
    assert other_street.status_code == 200 and other_street.get_json()["results"] == []  # its communities scored none


def test_the_trail_says_how_far_it_was_verified(client, token, demo_db, settings, clock):
    from engine.assessment.trail import verify_chain
    from tests.timekeeping import at

    headers = token("super_dhm")
    assert client.get("/api/v1/assessment/trail", headers=headers).get_json()["verified_at"] is None
    rated_cases(demo_db, settings)
    clock.move_to(at(25, 11))
    driver = Driver(demo_db, settings)
    run = verify_chain(driver.session, driver.rt).record
    driver.session.commit()
    driver.close()
    body = client.get("/api/v1/assessment/trail", headers=headers).get_json()
    assert body["up_to_event_id"] == run.up_to_event_id > 0 and body["broken_at"] is None
    assert body["verified_at"].startswith("2026-11-25T03:00")            # 11:00 in the city
