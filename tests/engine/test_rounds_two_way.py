"""Rating rounds: an admin opens a round; each community scores each department that handled its
cases closed in the period, on the configured items; the results feed the departments' two-way
figures, each viewer seeing their scope."""
from __future__ import annotations

from datetime import date

import pytest

from engine.assessment import rounds
from engine.assessment.twoway import two_way_figures
from engine.errors import Conflict, Forbidden, InputError, NotFound

from tests.engine.test_two_way import NOV, closed_case

Q4 = dict(period_start=date(2026, 10, 1), period_end=date(2026, 12, 31))


def open_q4(driver, unit="110101"):
    rnd = rounds.open_round(driver.session, driver.rt, driver.user("admin"), name="2026年第四季度", unit_code=unit, **Q4)
    driver.session.commit()
    return rnd


def score(driver, rnd, username, community, department, **points):
    row = rounds.submit_scores(driver.session, driver.rt, driver.user(username), rnd.id, community_code=community,
                               department_code=department, scores=points, comment="")
    driver.session.commit()
    return row


def test_a_round_takes_its_items_from_the_file_and_only_an_admin_opens_it(driver, clock):
    rnd = open_q4(driver)
    assert [i["key"] for i in rnd.items] == ["response", "quality", "cooperation"]
    assert [i["weight"] for i in rnd.items] == [30, 40, 30] and rnd.status == "open"
    with pytest.raises(Forbidden):
        rounds.open_round(driver.session, driver.rt, driver.user("leader_district"), name="x", unit_code="110101", **Q4)
    with pytest.raises(InputError) as raised:
        rounds.open_round(driver.session, driver.rt, driver.user("admin"), name=" ", unit_code="110101001001",
                          period_start=date(2026, 12, 31), period_end=date(2026, 10, 1))
    assert set(raised.value.errors) == {"name", "unit", "period_end"}


def test_a_community_scores_the_departments_it_dealt_with(driver, clock):
    closed_case(driver, "HW")
    closed_case(driver, "CG")
    rnd = open_q4(driver)
    [sheet] = rounds.score_sheets(driver.session, driver.rt, driver.user("comm_nanchizi"), rnd.id).sheets
    assert sheet.community_code == "110101001001"
    assert [(r.department_code, r.cases, r.scores) for r in sheet.rows] == [("CG", 1, None), ("HW", 1, None)]
    assert rounds.score_sheets(driver.session, driver.rt, driver.user("comm_dengshikou"), rnd.id).sheets[0].rows == []
    row = score(driver, rnd, "comm_nanchizi", "110101001001", "HW", response=8, quality=10, cooperation=5)
    assert row.total == 79.0                                     # (30×0.8 + 40×1 + 30×0.5) / 100
    row = score(driver, rnd, "comm_nanchizi", "110101001001", "HW", response=10, quality=10, cooperation=10)
    assert row.total == 100.0                                    # scoring again replaces the sheet
    score(driver, rnd, "comm_nanchizi", "110101001001", "CG", response=5, quality=5, cooperation=5)
    results = rounds.round_results(driver.session, driver.rt, driver.user("leader_district"), rnd.id).results
    assert [(r.department_code, r.communities, r.total) for r in results] == [("HW", 1, 100.0), ("CG", 1, 50.0)]
    own = rounds.round_results(driver.session, driver.rt, driver.user("handler_cg"), rnd.id).results
    assert [r.department_code for r in own] == ["CG"]
    other_street = rounds.round_results(driver.session, driver.rt, driver.user("leader_js"), rnd.id).results
    assert other_street == []
    figures = {d.code: d for d in two_way_figures(driver.session, driver.rt, driver.user("admin"),
                                                  date(2026, 10, 1), date(2026, 12, 31))}
    assert (figures["HW"].round_scores, figures["HW"].round_score) == (1, 100.0)
    assert figures["CG"].round_score == 50.0
    # the round ends in December: November's figures have no round scores
    assert two_way_figures(driver.session, driver.rt, driver.user("admin"), *NOV) == []


def test_bad_scores_are_refused_whole(driver, clock):
    closed_case(driver, "HW")
    rnd = open_q4(driver)
    with pytest.raises(InputError) as raised:
        rounds.submit_scores(driver.session, driver.rt, driver.user("comm_nanchizi"), rnd.id,
                             community_code="110101001001", department_code="HW",
                             scores={"response": 11, "quality": "9", "speed": 1})
    assert set(raised.value.errors) == {"scores.response", "scores.quality", "scores.cooperation", "scores.speed"}
    with pytest.raises(InputError) as raised:
        rounds.submit_scores(driver.session, driver.rt, driver.user("comm_nanchizi"), rnd.id,
                             community_code="110101001001", department_code="CG",
                             scores={"response": 1, "quality": 1, "cooperation": 1})
    assert set(raised.value.errors) == {"department"}             # CG handled none of its cases
    with pytest.raises(InputError):
        rounds.submit_scores(driver.session, driver.rt, driver.user("comm_dengshikou"), rnd.id,
                             community_code="110101001001", department_code="HW",
                             scores={"response": 1, "quality": 1, "cooperation": 1})
    driver.session.rollback()
    results = rounds.round_results(driver.session, driver.rt, driver.user("admin"), rnd.id).results
    assert results == []


def test_a_closed_round_takes_no_scores_and_rounds_are_listed_for_their_people(driver, clock):
    closed_case(driver, "HW")
    rnd = open_q4(driver, unit="110101001")
    listed = rounds.rounds_for(driver.session, driver.rt, driver.user("comm_nanchizi"))
    assert [(r.id, r.may_score, r.may_close) for r in listed] == [(rnd.id, True, False)]
    assert rounds.rounds_for(driver.session, driver.rt, driver.user("leader_js")) == []
    with pytest.raises(NotFound):
        rounds.score_sheets(driver.session, driver.rt, driver.user("leader_js"), rnd.id)
    rounds.close_round(driver.session, driver.rt, driver.user("admin"), rnd.id)
    driver.session.commit()
    with pytest.raises(Conflict):
        score(driver, rnd, "comm_nanchizi", "110101001001", "HW", response=1, quality=1, cooperation=1)
    with pytest.raises(Conflict):
        rounds.close_round(driver.session, driver.rt, driver.user("admin"), rnd.id)
