"""The scenario runner itself: a scenario that must fail fails naming its step, what was expected
and what happened; time moves timer by timer; bad files are refused naming file, key and rule
(by the run, by `processes validate` and by deploy); a run holds the clock for its own thread."""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine import clock
from engine.assembly import make_runtime
from engine.process import deploy as process_service
from engine.scenarios.run import run_files
from engine.settings import load_settings

HEAD = """
start = "2026-11-25T10:00"
[report]
category_code = "E0102"
grid_code = "110101001001001"
address = "南池子大街12号"
source = "patrol"
by = "grid_dhm_01"
"""

TO_HANDLING = """
[[scenario.step]]
task = "accept"
answer = { decision = "file" }

[[scenario.step]]
task = "dispatch"
"""
SIGN = """
[[scenario.step]]
task = "sign_for"
answer = { sign_decision = "sign" }
"""


@pytest.fixture(scope="module")
def base():
    settings = load_settings()
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    return settings, {n: t for n, t in files.items() if not n.startswith("scenarios/")}


def run(base, *texts, pattern=None):
    settings, files = base
    scenario_files = {f"scenarios/s{i}.toml": HEAD + text for i, text in enumerate(texts)}
    return run_files(settings, {**files, **scenario_files}, pattern)


def test_a_scenario_that_expects_the_wrong_department_fails_naming_the_step(base):
    report = run(base, """
[[scenario]]
name = "wrong_department"
""" + TO_HANDLING + SIGN + """expect = { department = "CG", open = ["feedback"] }
""")
    [outcome] = report.outcomes
    assert not outcome.passed and report.failed == 1 and not report.ok
    assert outcome.text == ("s0/wrong_department: step 3 (sign_for as handler_hw): expected open tasks [feedback], "
                            "open: [handle]; expected department CG, got HW")
    assert (outcome.step, outcome.element) == (3, "sign_for")   # pinned to the step's task in the modeller


def test_a_missing_task_a_refusal_and_a_refusal_that_does_not_come_are_told_apart(base):
    report = run(base, """
[[scenario]]
name = "not_open"

[[scenario.step]]
task = "dispatch"
""", """
[[scenario]]
name = "refused"

[[scenario.step]]
task = "accept"
answer = { decision = "cancel" }
""", """
[[scenario]]
name = "not_refused"

[[scenario.step]]
task = "accept"
answer = { decision = "file" }
refused = true
""")
    texts = [o.text for o in report.outcomes]
    assert texts == [
        "s0/not_open: step 1 (dispatch): expected an open task dispatch, open: [accept]",
        "s1/refused: step 1 (accept as clerk_dhm): refused: cancel_reason: Required when decision is 'cancel'.",
        "s2/not_refused: step 1 (accept as clerk_dhm): expected the step to be refused, it went through",
    ]


def test_time_moves_timer_by_timer_so_a_long_wait_still_warns_before_it_marks_overdue(base):
    # One sweep at 17:35 would find the warning's time past the due time and skip it (已过时限?);
    # the runner fires each timer at its own time, as a sweep running every second does.
    report = run(base, """
[[scenario]]
name = "long_wait"
""" + TO_HANDLING + SIGN + """
[[scenario.step]]
until = "2026-11-25T17:35"
expect = { events = ["warning", "overdue", "escalated"], at_risk = true, overdue = true, escalation_level = 1, path = ["Flow_handle_warn_go"], not_path = ["Flow_handle_warn_skip"] }
""")
    assert report.ok, [o.text for o in report.outcomes]


def test_due_times_are_checked_as_working_time_offsets_and_wall_times(base):
    report = run(base, """
[[scenario]]
name = "dues"
""" + TO_HANDLING + SIGN + """expect = { due = { handle = "+4 working hours", sign = "2026-11-25T11:00" } }

[[scenario.step]]
task = "handle"
answer = { action = "done" }
expect = { due = { handle = "2026-11-25T15:31" } }
""")
    [outcome] = report.outcomes
    assert outcome.text == ("s0/dues: step 4 (handle as handler_hw): expected the handle due time 2026-11-25 15:31:00 "
                            "(2026-11-25T15:31), got 2026-11-25 15:30:00")


def test_coverage_lists_the_flows_no_selected_scenario_takes(base):
    report = run(base, """
[[scenario]]
name = "cancel"

[[scenario.step]]
task = "accept"
answer = { decision = "cancel", cancel_reason = "invalid" }
""")
    summary = report.summary()
    assert summary["passed"] == 1 and summary["failed"] == 0 and summary["flows_total"] == len(report.flows) > 150
    assert "Flow_accept_cancel" in report.covered and "Flow_accept_file" in report.uncovered
    assert summary["flows_covered"] + len(summary["uncovered"]) == summary["flows_total"]


BAD = """
[[scenario]]
name = "bad"
colour = "red"

[[scenario.step]]
task = "acept"

[[scenario.step]]
task = "accept"
answer = { decison = "file" }

[[scenario.step]]
wait = "two hours"

[[scenario.step]]
task = "accept"
expect = { stage = "limbo", open = ["nope"] }
"""


def test_bad_files_are_refused_naming_file_key_and_rule_and_the_good_ones_still_run(base):
    report = run(base, BAD, """
[[scenario]]
name = "fine"

[[scenario.step]]
task = "accept"
answer = { decision = "file" }
expect = { open = ["dispatch"] }
""")
    assert report.problems == [
        "scenarios/s0.toml: scenario 'bad': colour: unknown key (known: name, title, start, report, other, step)",
        "scenarios/s0.toml: scenario 'bad': step 1: task: 'acept' is not a user task of grid_case (accept, "
        "approve_extension, callback, close, dispatch, feedback, handle, parked, rate_unit, review_rating, sign_for, "
        "supervise, supervise_reply, supervise_review, verify)",
        "scenarios/s0.toml: scenario 'bad': step 2: answer.decison: the form of task accept has no field 'decison' "
        "(decision, cancel_reason, duplicate_of, supplement_request, accept_note)",
        "scenarios/s0.toml: scenario 'bad': step 3: wait: 'two hours' is not a duration such as '4 working hours', "
        "'2 working days', '90 minutes' or '3 days'",
        "scenarios/s0.toml: scenario 'bad': step 4: expect: open: 'nope' is not a user task of grid_case",
        "scenarios/s0.toml: scenario 'bad': step 4: expect: stage: 'limbo' is not in the stage vocabulary (stages.toml)",
    ]
    assert [o.text for o in report.outcomes] == ["s1/fine: passed"] and not report.ok


def test_validate_and_deploy_refuse_a_bad_scenario_file(base, demo_db):
    settings, files = base
    rt = make_runtime(settings)
    broken = {**files, "scenarios/s0.toml": HEAD + BAD}
    problems = process_service.validate(rt, broken, required="grid_case")
    assert "scenarios/s0.toml: scenario 'bad': step 3: wait: 'two hours' is not a duration" in "\n".join(problems)
    assert process_service.validate(rt, {**files, "scenarios/s0.toml": "[[scenario"},
                                    required="grid_case")[0].startswith("scenarios/s0.toml: not valid TOML")
    no_start = HEAD.replace('start = "2026-11-25T10:00"', "") + '[[scenario]]\nname = "when"\n'
    assert process_service.validate(rt, {**files, "scenarios/s0.toml": no_start}, required="grid_case") == [
        "scenarios/s0.toml: scenario 'when': start: give the local time the scenario starts at (here or for the "
        "whole file)"]
    with demo_db() as session, pytest.raises(process_service.ProcessError, match="scenarios/s0.toml"):
        process_service.deploy(session, rt, broken, "grid_case")


def test_a_user_the_city_does_not_have_fails_the_scenario_at_its_step(base):
    report = run(base, """
[[scenario]]
name = "stranger"

[[scenario.step]]
task = "accept"
by = "clerk_nobody"
answer = { decision = "file" }
""")
    assert report.outcomes[0].text == ("s0/stranger: step 1 (accept as clerk_nobody): by: 'clerk_nobody' is not a user "
                                       "of the city (demo)")


def test_a_held_clock_is_this_threads_own():
    seen = {}
    moment = datetime(2030, 1, 1, tzinfo=timezone.utc)
    inside, done = threading.Event(), threading.Event()

    def scenario_thread():
        with clock.held(moment) as held:
            seen["held"] = clock.now()
            inside.set()
            done.wait(5)
            held.move_to(datetime(2030, 1, 2, tzinfo=timezone.utc))
            seen["moved"] = clock.now()
        seen["after"] = clock.now()

    thread = threading.Thread(target=scenario_thread)
    thread.start()
    inside.wait(5)
    seen["other thread"] = clock.now()
    done.set()
    thread.join(5)
    assert seen["held"] == moment and seen["moved"].day == 2
    assert seen["other thread"].year < 2030 and seen["after"].year < 2030


def test_the_example_in_processes_readme_runs_and_passes(base):
    settings, files = base
    readme = (Path(settings["PROCESSES_DIR"]) / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml\n# scenarios/routing.toml\n", 1)[1].split("```", 1)[0]
    report = run_files(settings, {**files, "scenarios/routing.toml": example})
    assert report.ok and [o.text for o in report.outcomes] == ["routing/department_garbage: passed"]


def test_an_unexpected_error_stops_that_scenario_only(base, monkeypatch):
    from engine.scenarios import runner

    real = runner.case_service.complete_task

    def complete(session, rt, actor, task_id, values, *args):
        if values.get("decision") == "cancel":
            raise RuntimeError("disk on fire")
        return real(session, rt, actor, task_id, values, *args)

    monkeypatch.setattr(runner.case_service, "complete_task", complete)
    report = run(base, """
[[scenario]]
name = "boom"

[[scenario.step]]
task = "accept"
answer = { decision = "cancel", cancel_reason = "invalid" }
""", """
[[scenario]]
name = "fine"

[[scenario.step]]
task = "accept"
answer = { decision = "file" }
""")
    assert [o.text for o in report.outcomes] == ["s0/boom: the run stopped: RuntimeError: disk on fire", "s1/fine: passed"]
