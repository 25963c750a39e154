"""validate refuses a name that some path into an element leaves unset, and codes the city lacks."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.lifecycle.cases import case_data
from engine.process import deploy as process_service
from engine.process.variables import CASE_START_VARIABLES
from engine.runtime import Runtime
from engine.spiff import ProcessError
from models import Category, OrgUnit


@pytest.fixture
def rt(settings):
    return Runtime(settings)


@pytest.fixture
def files(settings):
    return process_service.read_files([settings["PROCESSES_DIR"]])


def broken(files, name, old, new):
    assert old in files[name]
    return dict(files, **{name: files[name].replace(old, new, 1)})


@pytest.mark.parametrize("name, old, new, element, variable", [
    ("grid_case.bpmn", "sign_decision == 'return'", "sign_decison == 'return'", "gw_sign", "sign_decison"),
    ("grid_case.bpmn", 'tFormalExpression">handle_due</bpmn:timeDate>',
     'tFormalExpression">handle_duee</bpmn:timeDate>', "handle_overdue", "handle_duee"),
    ("grid_case.bpmn", "else district_scope", "else distrct_scope", "set_approval_scope", "distrct_scope"),
    ("grid_case.bpmn", 'value="handler_scope"', 'value="handlr_scope"', "sign_for", "handlr_scope"),
    ("routing.dmn", "<text>area_type</text>", "<text>area_kind</text>", "routing", "area_kind"),
])
def test_a_misspelt_variable_is_refused_naming_element_and_variable(rt, files, name, old, new, element, variable):
    problems = process_service.validate(rt, broken(files, name, old, new), required="grid_case")
    assert len(problems) == 1, problems
    assert f"grid_case/{element}:" in problems[0] and f"variable {variable!r}" in problems[0]
    assert "nothing in the process sets it" in problems[0]


@pytest.mark.parametrize("old, new, element, prop, variable", [
    ('value="returned_by:回退人, returned_at', 'value="returnd_by:回退人, returned_at', "dispatch", "show", "returnd_by"),
    ('name="reporterSees" value="result:处置结果"', 'name="reporterSees" value="reslt.text:处置结果"', None,
     "reporterSees", "reslt"),
])
def test_a_shown_variable_nothing_sets_is_refused(rt, files, old, new, element, prop, variable):
    problems = process_service.validate(rt, broken(files, "grid_case.bpmn", old, new), required="grid_case")
    assert len(problems) == 1, problems
    assert f"property {prop} shows variable {variable!r}, but nothing in the process sets it" in problems[0]
    assert element is None or problems[0].startswith(f"grid_case/{element}:")


def test_a_variable_named_by_the_actor_property_is_set_by_its_task(rt, files):
    # sign_for and handle remember who returned the case in returned_by (property actor): dispatch
    # shows it, and a condition may read it.
    assert 'name="actor" value="returned_by"' in files["grid_case.bpmn"]
    changed = broken(files, "grid_case.bpmn", "sign_decision == 'return'", "sign_decision == 'return' and returned_by")
    assert process_service.validate(rt, changed, required="grid_case") == []


def test_a_variable_set_on_another_path_only_is_refused(rt, files):
    # sign_decision exists (the 签收 form sets it) but not yet when the case is accepted.
    problems = process_service.validate(
        rt, broken(files, "grid_case.bpmn", "decision == 'cancel'", "sign_decision == 'cancel'"))
    assert problems == ["grid_case/gw_accept: condition (flow to set_cancelled) \"sign_decision == 'cancel'\" "
                        "reads variable 'sign_decision', but it is not set on every path into gw_accept"]


def test_a_variable_set_before_a_rework_loop_is_known_inside_it(rt, files):
    # count_rework reads rework_count, set once at intake; the loop back through 处置 keeps it.
    assert "rework_count += 1" in files["grid_case.bpmn"]
    assert process_service.validate(rt, files, required="grid_case") == []
    without = broken(files, "grid_case.bpmn", "rework_count = 0\n", "")
    problems = process_service.validate(rt, without)
    assert any("count_rework" in p and "'rework_count'" in p for p in problems), problems


def test_expression_functions_and_builtins_are_not_variables(rt, files):
    fine = broken(files, "grid_case.bpmn", "sign_decision == 'return'",
                  "sign_decision == 'return' and len(str(now())) &gt; max(0, int(working_hours_between(now(), sign_due)))"
                  " or any(x == 'return' for x in [sign_decision])")
    assert process_service.validate(rt, fine, required="grid_case") == []


def test_a_routing_rule_naming_an_unknown_department_is_refused_against_the_city(demo_db, rt, files):
    zz = broken(files, "routing.dmn", '<text>"CW"</text>', '<text>"ZZ"</text>')
    assert process_service.validate(rt, zz, required="grid_case") == []  # no city to check against
    with demo_db() as session:
        problems = process_service.validate(rt, zz, required="grid_case", session=session)
        assert len(problems) == 1 and "grid_case/routing: decision routing_table" in problems[0]
        assert "department 'ZZ', which this city does not have" in problems[0]
        with pytest.raises(ProcessError, match="'ZZ'"):
            process_service.deploy(session, rt, zz, "grid_case")


def test_a_decision_on_an_unknown_category_is_refused_against_the_city(demo_db, rt, files):
    unknown = broken(files, "routing.dmn", '<text>"E0101"</text>', '<text>"E9999"</text>')
    with demo_db() as session:
        problems = process_service.validate(rt, unknown, session=session)
    assert any("category 'E9999'" in p for p in problems), problems


def test_the_start_variables_are_what_a_new_case_gets(demo_db, rt):
    with demo_db() as session:
        category = session.scalars(select(Category)).first()
        units = {u.level: u for u in session.scalars(select(OrgUnit))}
        data = case_data(rt, "GF1", category, units, "patrol", "normal")
    assert set(data) == set(CASE_START_VARIABLES)
