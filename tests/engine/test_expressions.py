"""The restricted expression environment, including the bare ISO-8601 timer literal."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from engine.spiff import ExpressionError, Namespace
from engine.assembly import make_runtime

TIMER_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="wait_then_work" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="wait">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>{expr}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="work" name="work"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="work"/>
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

SCRIPT_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="script" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="script"/>
    <bpmn:sequenceFlow id="f2" sourceRef="script" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def rt(settings):
    return make_runtime(settings)


@pytest.mark.parametrize("expr", ["PT4H", "'PT4H'", "\"PT4H\""])
def test_bare_and_quoted_iso_durations_both_fire(rt, expr):
    start = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False) as clock:
        bundle = rt.workflows.parse({"t.bpmn": TIMER_BPMN.format(expr=expr)})["wait_then_work"]
        wf = rt.workflows.start(bundle, {})
        assert rt.workflows.next_timer_at(wf) == start + timedelta(hours=4)
        wf = rt.workflows.load_state(bundle, rt.workflows.dump_state(wf))  # survives storage
        clock.move_to(start + timedelta(hours=3, minutes=59))
        rt.workflows.fire_timers(wf)
        assert rt.workflows.ready_tasks(wf, bundle) == []
        clock.move_to(start + timedelta(hours=4, minutes=1))
        rt.workflows.fire_timers(wf)
        assert [t.node.bpmn_id for t in rt.workflows.ready_tasks(wf, bundle)] == ["work"]
        assert rt.workflows.next_timer_at(wf) is None


@pytest.mark.parametrize("script, message", [
    ("import os", "imports are not allowed"),
    ("x = ().__class__", "attribute '__class__'"),
    ("x = __import__('os')", "name '__import__'"),
    ("x = open('/etc/passwd').read()", "open"),
    ("x = eval('1')", "eval"),
])
def test_scripts_cannot_reach_outside_the_case(rt, script, message):
    bundle = rt.workflows.parse({"s.bpmn": SCRIPT_BPMN.format(script=script)})["scripted"]
    with pytest.raises(Exception) as err:
        rt.workflows.start(bundle, {})
    assert message in str(err.value)


def test_scripts_see_case_data_and_calendar_functions(rt):
    bundle = rt.workflows.parse({"s.bpmn": SCRIPT_BPMN.format(
        script="total = sum([a, b])\ndue = deadline(hours=1)\nnames = [n.upper() for n in items if n != skip]")})["scripted"]
    with time_machine.travel(datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc), tick=False):  # Fri 17:00 Beijing
        wf = rt.workflows.start(bundle, {"a": 1, "b": 2, "items": ["x", "y"], "skip": "y"})
    data = rt.workflows.data(wf)
    assert data["total"] == 3 and data["names"] == ["X"]
    assert data["due"] == "2026-11-30T01:00:00+00:00"  # Monday 09:00 Beijing: 30 min Friday + 30 min Monday
    assert "deadline" not in data and "__builtins__" not in data


def test_emergency_cases_run_on_the_plain_clock(rt):
    fns = rt.expression_functions({"emergency": True})
    with time_machine.travel(datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc), tick=False):
        assert fns["deadline"](hours=2) == "2026-11-27T11:00:00+00:00"


def test_case_data_cannot_shadow_a_function():
    ns = Namespace(lambda data: {"deadline": lambda: 1})
    with pytest.raises(ExpressionError, match="deadline"):
        ns.execute("x = 1", {"deadline": "tomorrow"})


@pytest.mark.parametrize("source", [
    "g = (g.gi_frame.f_back.f_back.f_globals for _ in [1])",
    "x = [y for y in [1]].__class__",
    "x = '{0.__class__.__mro__}'.format(1)",
    "x = '{0}'.format_map({})",
    "x = data['__builtins__']",
    "x = (lambda: 1).func_globals",
    "x = int.mro()",
])
def test_known_escapes_from_the_sandbox_are_refused(source):
    ns = Namespace(lambda data: {})
    with pytest.raises(ExpressionError):
        ns.execute(source, {"data": {}})


def test_the_frame_walk_escape_does_not_run_in_a_condition():
    ns = Namespace(lambda data: {})
    with pytest.raises(ExpressionError):
        ns.evaluate("[(g := (x.gi_frame for x in [1]))]", {})
