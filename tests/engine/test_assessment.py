"""Assessment figures: facts kept with each step, lateness judged from due and completion times and
attributed to whoever held the task, rates and scores for a period, scope, and the Tianmen example."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from engine.assessment import figures
from engine.assessment.facts import FactWriter
from engine.assessment.tally import Deltas
from engine.assessment.periods import Period
from engine.errors import Forbidden, InputError
from engine.process import deploy as process_service
from engine.process.assessment import parse_assessment
from models import AssessmentFact, AssessmentTally, Case

from tests.timekeeping import SH, at

NOVEMBER = Period.month(2026, 11)


def facts_of(driver, case):
    return {f.kind: f for f in driver.session.scalars(select(AssessmentFact).where(AssessmentFact.case_id == case.id))}


def report(driver, username, by, period=NOVEMBER, **kw):
    return figures.assessment(driver.session, driver.rt, driver.user(username), period, by, **kw)


def item(rep, key):
    return next(i for i in rep.items if i.key == key)


def check_tallies(driver):
    """The monthly tallies are exactly the facts added up."""
    session = driver.session
    session.expire_all()
    expected = Deltas(driver.rt.calendar.tz)
    columns = [c for c in AssessmentFact.__table__.c if c.key != "id"]
    for row in session.execute(select(*columns)).mappings():
        expected.add(dict(row))
    want = {k: (n, round(t, 6), v) for k, (n, t, v) in expected.acc.items() if n or v}
    have = {(r.grouping, r.month, r.key, r.kind, r.street_path, r.department): (r.n, round(r.total, 6), r.valued)
            for r in session.scalars(select(AssessmentTally)) if r.n or r.valued}
    assert have == want


def to_handling(driver, case):
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")


def to_closed(driver, case, verify="pass"):
    driver.do(case, "handle", "handler_hw", action="done")
    driver.do(case, "feedback", "handler_hw", result="已清运")
    driver.do(case, "verify", "grid_dhm_01", verify_result=verify, **({"verify_note": "仍有残留"} if verify == "fail" else {}))
    if verify == "pass":
        driver.do(case, "close", "leader_dhm", close_note="结案")


def test_a_late_handling_completed_before_any_sweep_counts_against_the_department(driver, clock):
    case = driver.report()
    to_handling(driver, case)            # Wednesday 10:00, handling due 15:30 (4 working hours)
    clock.move_to(at(26, 10))            # a day late, no timer ever fired
    to_closed(driver, case)
    facts = facts_of(driver, case)
    assert facts["late"].department == "HW" and facts["late"].owner == "department"
    assert facts["late"].person == "handler_hw" and facts["late"].value == pytest.approx(3.5)  # 15:30–17:30, 08:30–10:00
    assert facts["handled"].value == 0 and facts["due_to_close"].value == 0   # closed, but not on time
    dept = item(report(driver, "admin", "department"), "HW")
    assert (dept.values["overdue"], dept.values["closed"], dept.values["closed_on_time"]) == (1, 1, 0)
    assert dept.values["on_time_handling_rate"] == 0.0 and dept.values["handling_rate"] == 1.0
    check_tallies(driver)


def test_the_centres_late_acceptance_counts_against_the_street_not_a_department(driver, clock):
    case = driver.report()
    clock.move_to(at(25, 14))            # acceptance was due at 11:00
    to_handling(driver, case)
    late = [f for f in driver.session.scalars(select(AssessmentFact).where(AssessmentFact.kind == "late"))]
    assert {(f.detail, f.owner, f.department, f.street) for f in late} == {("accept", "centre", None, "110101001")}
    assert not any(i.values["overdue"] for i in report(driver, "admin", "department").items)
    assert item(report(driver, "admin", "street"), "110101001").values["overdue"] == 1
    check_tallies(driver)


def test_a_late_supervision_reply_never_counts_against_the_department(driver, clock):
    """The 督办 reply (a department's stage) keeps its own clock: answering it late warns and escalates,
    but is no late work of the department in the assessment, nor on the board."""
    from engine.queries.board import supervision_board
    from tests.engine.conftest import sweep_at
    case = driver.report()
    sweep_at(driver, clock, at(25, 11, 1))            # acceptance was due at 11:00: a 督办 opens
    clock.move_to(at(25, 11, 5))
    to_handling(driver, case)                         # 环卫 signs for it at once
    clock.move_to(at(25, 11, 10))
    driver.do(case, "supervise", "super_dhm", supervision_unit="HW", supervision_note="说明受理超时原因",
              supervision_level="listed")             # 挂牌督办: 1 working hour, due 13:40
    reply = driver.task(case, "supervise_reply")
    assert reply.scope_key == "dept:HW" and reply.due_at == at(25, 13, 40)
    sweep_at(driver, clock, at(25, 14, 0))            # the reply is late
    board = supervision_board(driver.session, driver.user("super_district"), now=at(25, 14, 0),
                              policy=driver.rt.policy, calendar=driver.rt.calendar)
    assert board.by_department == [] and "department" not in {r.key for r in board.by_owner}
    driver.do(case, "supervise_reply", "handler_hw", supervision_reply="已说明")   # 20 minutes late
    late = list(driver.session.scalars(select(AssessmentFact).where(AssessmentFact.kind == "late")))
    assert [(f.detail, f.owner, f.department) for f in late] == [("accept", "centre", None)]
    assert item(report(driver, "admin", "department"), "HW").values["overdue"] == 0
    check_tallies(driver)


def test_an_extended_case_is_due_to_close_where_its_new_deadline_falls(driver, clock):
    clock.move_to(at(30, 10))            # Monday 30 November
    case = driver.report()
    to_handling(driver, case)
    assert item(report(driver, "admin", "street"), "110101001").values["due_to_close"] == 1
    driver.do(case, "handle", "handler_hw", action="extend", extension_hours=16, extension_reason="等清运车")
    driver.do(case, "approve_extension", "leader_dhm", approval="approve")
    december = Period.month(2026, 12)
    assert not any(i.values["due_to_close"] for i in report(driver, "admin", "street").items)
    moved = item(report(driver, "admin", "street", december), "110101001")
    assert moved.values["due_to_close"] == 1 and moved.values["extended"] == 0   # extended in November
    assert item(report(driver, "admin", "street"), "110101001").values["extension_rate"] == 1.0
    clock.move_to(datetime(2026, 12, 1, 11, tzinfo=SH))
    to_closed(driver, case)
    moved = item(report(driver, "admin", "street", december), "110101001")
    assert (moved.values["closed"], moved.values["closed_on_time"], moved.values["on_time_closing_rate"]) == (1, 1, 1.0)
    check_tallies(driver)


def test_rework_returns_and_satisfaction_for_the_period(driver, clock):
    first, second = driver.report("clerk_dhm", source="hotline", reporter_phone="13900001111"), driver.report()
    for case in (first, second):
        to_handling(driver, case)
    to_closed(driver, second, verify="fail")                  # reworked once
    driver.do(first, "handle", "handler_hw", action="done")
    driver.do(first, "feedback", "handler_hw", result="已清运")
    driver.do(first, "callback", "clerk_dhm", satisfaction="basically")
    values = item(report(driver, "admin", "department"), "HW").values
    assert (values["reworked"], values["handled"], values["rework_rate"]) == (1, 2, 0.5)
    assert values["satisfaction_rate"] == 0.9                 # 基本满意 at its configured weight
    assert item(report(driver, "admin", "source"), "hotline").values["received"] == 1
    by_grid = item(report(driver, "admin", "grid"), "110101001001001")
    assert by_grid.values["miss_rate"] == 0.5 and by_grid.grade is not None and by_grid.score_name == "grid"
    check_tallies(driver)


def test_the_cases_behind_a_figure(driver, clock):
    cases = [driver.report() for _ in range(3)]
    driver.do(cases[0], "accept", "clerk_dhm", decision="file")
    driver.do(cases[1], "accept", "clerk_dhm", decision="cancel", cancel_reason="invalid")
    behind = figures.cases_behind(driver.session, driver.rt, driver.user("admin"), NOVEMBER, "street", "110101001",
                                  "filing_rate")
    assert behind.codes == [cases[0].code] and behind.total == 1
    denominator = figures.cases_behind(driver.session, driver.rt, driver.user("admin"), NOVEMBER, "street",
                                       "110101001", "filing_rate", denominator=True)
    assert denominator.codes == sorted(c.code for c in cases)
    cancelled = facts_of(driver, cases[1])["cancelled"]
    assert cancelled.detail == "invalid"
    with pytest.raises(InputError) as err:
        figures.cases_behind(driver.session, driver.rt, driver.user("admin"), NOVEMBER, "street", None, "nonsense")
    assert "indicator" in err.value.errors
    check_tallies(driver)


def test_cancelled_cases_are_broken_down_by_reason(driver, clock):
    cases = [driver.report() for _ in range(4)]
    for case, reason in zip(cases, ("invalid", "out_of_scope", "invalid")):
        driver.do(case, "accept", "clerk_dhm", decision="cancel", cancel_reason=reason)
    driver.do(cases[3], "accept", "clerk_dhm", decision="file")
    rep = report(driver, "admin", "street")
    assert rep.total.values["cancelled"] == 3
    assert rep.total.values["cancelled_by"] == {"invalid": 2, "out_of_scope": 1}
    assert item(rep, "110101001").values["cancelled_by"] == {"invalid": 2, "out_of_scope": 1}
    assert report(driver, "admin", "street", Period.month(2026, 12)).total.values["cancelled_by"] == {}
    behind = figures.cases_behind(driver.session, driver.rt, driver.user("admin"), NOVEMBER, "street", None,
                                  "cancelled", detail="invalid")
    assert behind.codes == sorted([cases[0].code, cases[2].code])
    # The page names each reason by the acceptance form's choice.
    names = figures.breakdown_choices(driver.session, driver.rt, rep.definitions)["cancelled"]
    assert names["invalid"] == "无效信息" and names["out_of_scope"] == "不属于受理范围"
    with pytest.raises(InputError) as err:
        figures.cases_behind(driver.session, driver.rt, driver.user("admin"), NOVEMBER, "street", None,
                             "filed", detail="invalid")
    assert "detail" in err.value.errors


def assert_refused(driver, files, cases):
    """Each (assessment.toml text, problem): validating the files with that text reports the problem."""
    for bad, problem in cases:
        assert problem in process_service.validate(driver.rt, dict(files, **{"assessment.toml": bad}))


def test_a_breakdown_must_name_a_count_whose_fact_keeps_a_detail(driver, settings):
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    text = files["assessment.toml"]
    assert_refused(driver, files, (
            (text.replace('cancelled = { zh = "注销原因"', 'duplicates = { zh = "注销原因"'),
             "assessment.toml: breakdowns.duplicates: every matcher of fact 'duplicate' must keep the same detail field"),
            (text.replace('cancelled = { zh = "注销原因"', 'filing_rate = { zh = "注销原因"'),
             "assessment.toml: breakdowns.filing_rate: must name a count(<fact>) of [counts]"),
            (text.replace('detail = "cancel_reason"', 'detail = "cancel_why"'),
             "assessment.toml: facts.cancelled[0].detail: 'cancel_why' is not a field of the form of 'accept'")))


def test_what_a_fact_is_worth_is_the_files_rule_checked_at_deploy(driver, settings):
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    text = files["assessment.toml"]
    rated = 'rated = [{ task = "callback", detail = "satisfaction", value = "weight", keep = "last" }]'
    assert rated in text
    assert_refused(driver, files, (
            (text.replace('value = "weight"', 'value = "weighted"'),
             "assessment.toml: facts.rated[0].value: must be one of on_time, one, weight"),
            (text.replace(', detail = "satisfaction", value = "weight"', ', value = "weight"'),
             "assessment.toml: facts.rated[0].value: weight needs detail (the field whose answer is weighed)"),
            (text.replace('received = [{ event = "reported" }]', 'received = [{ event = "reported", value = "on_time" }]'),
             "assessment.toml: facts.received[0].value: on_time needs a task (an event has no due time)")))
    # The shipped rule weighs the callback's answer; counting the callbacks done on time instead is
    # an edit of the file, not of the code.
    shipped = parse_assessment(text)
    on_time = parse_assessment(text.replace(rated, rated.replace('value = "weight"', 'value = "on_time"')))
    [weighed], [timed] = shipped.facts["rated"], on_time.facts["rated"]
    value = FactWriter._value
    assert value(shipped, weighed, {"satisfaction": "basically"}, True) == 0.9
    assert value(shipped, weighed, {"satisfaction": "unreachable"}, True) is None   # 未联系上: no weight, not counted
    assert (value(on_time, timed, {"satisfaction": "basically"}, True),
            value(on_time, timed, {"satisfaction": "basically"}, False)) == (1.0, 0.0)
    [filed] = shipped.facts["filed"]
    assert filed.value == "on_time" and value(shipped, filed, {}, False) == 0.0


def test_callers_see_only_the_units_in_their_scope(driver, clock):
    case = driver.report()
    to_handling(driver, case)
    assert [i.key for i in report(driver, "leader_js", "street").items] == []       # another street
    assert [i.key for i in report(driver, "leader_dhm", "street").items] == ["110101001"]
    assert [i.key for i in report(driver, "handler_hw", "department").items] == ["HW"]
    with pytest.raises(Forbidden):
        report(driver, "clerk_dhm", "street")


def test_a_period_is_read_in_the_calendars_time_zone(driver, clock):
    clock.move_to(datetime(2026, 11, 30, 23, 30, tzinfo=SH))  # 15:30 UTC: still November in Beijing
    driver.report()
    assert item(report(driver, "admin", "street"), "110101001").values["received"] == 1
    assert report(driver, "admin", "street", Period.month(2026, 12)).items == []


def test_periods_parse_and_refuse_with_the_field_named():
    today = date(2026, 11, 25)
    assert Period.parse({"quarter": "2026Q4"}, today) == Period(date(2026, 10, 1), date(2026, 12, 31))
    assert Period.parse({}, today) == NOVEMBER
    assert Period.parse({"year": "2026"}, today).previous() == Period(date(2025, 1, 1), date(2025, 12, 31))
    assert NOVEMBER.previous() == Period.month(2026, 10)
    for args, field in (({"from": "2026-11-31", "to": "2026-12-01"}, "from"), ({"month": "2026-13"}, "month"),
                        ({"from": "2026-11-02", "to": "2026-11-01"}, "to"), ({"from": "2026-11-01"}, "to")):
        with pytest.raises(InputError) as err:
            Period.parse(args, today)
        assert field in err.value.errors


def test_validate_names_the_key_and_the_rule(driver, settings):
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    bad = files["assessment.toml"].replace('den = "received", zh = "立案率"', 'den = "reciever", zh = "立案率"')
    assert "assessment.toml: rates.filing_rate.den: 'reciever' is not a name of [counts]" in \
        process_service.validate(driver.rt, dict(files, **{"assessment.toml": bad}))
    bad = files["assessment.toml"].replace('task = "approve_extension"', 'task = "approve"')
    problems = process_service.validate(driver.rt, dict(files, **{"assessment.toml": bad}))
    assert any("facts.extended[0].task: 'approve' is not a user task" in p for p in problems)
    assert process_service.validate(driver.rt, files) == []


# ---------------------------------------------------------------- the Tianmen example

def tianmen_facts(case_ids, street_path):
    """December 2016 as Tianmen published it: 受理 1,054, 立案 996, 应结案 972, 结案 911, 按期 737."""
    day = lambda n: datetime(2016, 12, 1 + n % 31, 9, tzinfo=SH).astimezone(timezone.utc)  # noqa: E731
    base = {"scope_path": street_path + "110101001001/110101001001001/", "street": "110101001",
            "community": "110101001001", "grid": "110101001001001", "department": "HW", "person": None,
            "category": "E0102", "major": "E01", "source": "patrol", "owner": None, "task_bpmn_id": None,
            "detail": None}
    rows = []
    for i, case_id in enumerate(case_ids):
        rows.append(dict(base, case_id=case_id, kind="received", at=day(i), value=1.0))
        if i < 996:
            rows.append(dict(base, case_id=case_id, kind="filed", at=day(i), value=1.0))
        if i < 972:
            rows.append(dict(base, case_id=case_id, kind="due_to_close", at=day(i) + timedelta(hours=3),
                             value=1.0 if i < 737 else 0.0))
        if i < 911:
            rows.append(dict(base, case_id=case_id, kind="closed", at=day(i) + timedelta(hours=5), value=1.0))
    # Outside the month: counted in neither December's numerators nor its denominators.
    rows.append(dict(base, case_id=case_ids[0], kind="closed", at=datetime(2017, 1, 3, tzinfo=timezone.utc), value=1.0))
    return rows


def test_the_tianmen_example_gives_the_published_rates(driver, clock):
    template = driver.report()
    street_path = template.scope_path.rsplit("/", 3)[0] + "/"
    session = driver.session
    clones = [{c.key: getattr(template, c.key) for c in Case.__table__.columns if c.key not in ("id", "code")}
              for _ in range(1054)]
    for n, row in enumerate(clones):
        row["code"] = f"TM2016{n:05d}"
    session.execute(insert(Case.__table__), clones)
    ids = list(session.scalars(select(Case.id).where(Case.code.like("TM2016%")).order_by(Case.code)))
    facts = tianmen_facts(ids, street_path)
    session.execute(insert(AssessmentFact.__table__), facts)
    deltas = Deltas(driver.rt.calendar.tz)      # what the step writer adds up with each fact
    for row in facts:
        deltas.add(row)
    deltas.apply(session.connection())
    session.commit()
    check_tallies(driver)
    rep = report(driver, "admin", "street", Period.month(2016, 12))   # a whole month: from the tallies
    values = item(rep, "110101001").values
    assert (values["received"], values["filed"], values["due_to_close"], values["closed"],
            values["closed_on_time"]) == (1054, 996, 972, 911, 737)
    assert round(values["closing_rate"] * 100, 2) == 93.72
    assert round(values["on_time_closing_rate"] * 100, 2) == 75.82
    assert round(values["filing_rate"] * 100, 2) == 94.50
    assert rep.total.values["closing_rate"] == values["closing_rate"]
    assert rep.definitions.version and rep.process == "grid_case v1"
    # The grid's own staff read the facts themselves (their scope is finer than a street): the same figures.
    assert item(report(driver, "grid_dhm_01", "street", Period.month(2016, 12)), "110101001").values == values
    # And from/to dates that are not whole months read the facts too.
    days = item(report(driver, "admin", "street", Period(date(2016, 11, 30), date(2016, 12, 31))), "110101001")
    assert days.values == values


def test_subtracting_parked_cases_is_a_setting_of_the_file(driver):
    files = process_service.read_files([driver.rt.settings["PROCESSES_DIR"]])
    defs = parse_assessment(files["assessment.toml"].replace("subtract_parked = false", "subtract_parked = true"))
    values = figures._values(defs, {"due_to_close": (972, 737.0, 972), "closed": (911, 911.0, 911),
                                    "parked": (22, 22.0, 22)})
    assert values["on_time_closing_rate"] == round(737 / 950, 4)   # Jinhua: 按期结案 ÷ (应结案 − 缓办)
    assert values["filing_rate"] is None                            # no denominator: null, not 0
