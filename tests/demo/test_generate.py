"""`gridflow demo generate`: generated cases look like real ones and run on like real ones."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.lifecycle import cases as case_service
from bench.common import MAIN_PATH_ANSWERS, Actors
from demo.generate import CLOSED_VARIANTS, MIX, WorkingTime, _World, _mix, generate_cases
from demo.templates import deployed_version_id
from engine.access.org import may_take
from engine.assembly import make_runtime
from models import Case, CaseCodeCounter, CaseEvent, Task

# An answer that completes each stage's task (a clerk's everyday choice).
ANSWERS = {**MAIN_PATH_ANSWERS, "parked": {"resume_note": "条件具备，恢复处置"},
           "approve_extension": {"approval": "approve", "approval_note": "同意"},
           "supervise": {"supervision_note": "请加快处置", "supervision_level": "general"}}


@pytest.fixture
def generated(demo_db, settings):
    rt = make_runtime(settings)
    result = generate_cases(demo_db, rt, 600, seed=7)
    return rt, result


def test_cases_in_every_stage_with_tasks_that_match_the_stage(generated, demo_db):
    rt, result = generated
    assert result.cases == 600
    with demo_db() as session:
        cases = session.scalars(select(Case)).all()
        assert len(cases) == 600
        statuses = Counter(c.status for c in cases)
        assert set(statuses) == {"open", "closed", "cancelled", "duplicate"}
        stages = Counter(c.stage for c in cases if c.status == "open")
        assert {"accept", "supplement", "dispatch", "sign", "handle", "feedback", "verify", "close"} <= set(stages)
        assert len({c.grid_id for c in cases}) > 25 and len({c.category_id for c in cases}) > 40
        assert len({c.code for c in cases}) == 600
        open_tasks = session.scalars(select(Task).where(Task.status == "open")).all()
        by_case: dict[int, list[Task]] = {}
        for t in open_tasks:
            by_case.setdefault(t.case_id, []).append(t)
        wf = rt.workflows
        for case in cases:
            tasks = by_case.get(case.id, [])
            main = [t for t in tasks if t.stage != "supervise"]
            if case.status != "open":
                assert not tasks and case.closed_at is not None and case.next_timer_at is None
                continue
            if case.stage == "supplement":
                assert not tasks
            else:
                assert [t.stage for t in main] == [case.stage]
                assert case.due_at == min((t.due_at for t in tasks if t.due_at), default=None)
            # The stored state is a real one: it loads, and its READY tasks are the open rows.
            workflow = wf.load_state(rt.bundle(session, case.process_version_id), case.state)
            ready = wf.ready_tasks(workflow, rt.bundle(session, case.process_version_id))
            assert {r.spiff_id for r in ready} == {t.spiff_id for t in tasks}
            data = wf.data(workflow)
            assert data["case_code"] == case.code and data["grid_scope"] == case.scope_path
            for t in tasks:
                node = rt.bundle(session, case.process_version_id).node(t.bpmn_id)
                assert t.scope_key == data[node.properties["scope"]]
                due = node.properties.get("due", "")
                if due.endswith("_due"):  # the task's due time is the one its stage clock holds
                    assert datetime.fromisoformat(data[due]) == t.due_at
            if case.department_code:
                assert data["handler_scope"] == f"dept:{case.department_code}"
            # Armed timers and flags agree with the time now.
            assert case.next_timer_at == wf.next_timer_at(workflow)
            if case.next_timer_at:
                assert case.next_timer_at > rt.clock() - timedelta(minutes=5)
        # Overdue and at-risk cases exist, and supervision side tasks on overdue handling.
        assert any(c.overdue for c in cases if c.status == "open")
        assert any(c.at_risk and not c.overdue for c in cases if c.status == "open")
        assert any(t.stage == "supervise" for t in open_tasks)
        assert session.scalar(select(func.count()).select_from(CaseEvent)) > 600 * 3


def test_a_generated_task_of_each_stage_can_be_completed(generated, demo_db):
    rt, _ = generated
    with demo_db() as session:
        actors = Actors(session)
        done = set()
        for task in session.scalars(select(Task).where(Task.status == "open").order_by(Task.id)).all():
            if task.bpmn_id in done:
                continue
            payload = dict(ANSWERS[task.bpmn_id])
            case = session.get(Case, task.case_id)
            if task.bpmn_id == "dispatch":
                payload["department_code"] = case.category.default_department or "CG"
            user = actors.for_task(task.role, task.scope_key)
            assert may_take(user, task.role, task.scope_key)
            before = case.stage
            case_service.complete_task(session, rt, user, task.id, payload)
            session.commit()
            assert session.get(Task, task.id).status == "completed"
            nxt = case_service.open_tasks(session, case)
            # The next task goes to the case's own street, grid or department.
            for t in nxt:
                if not t.scope_key.startswith("dept:"):
                    assert case.scope_path.startswith(t.scope_key)
            assert case.stage != before or task.stage == "supervise" or case.status != "open"
            done.add(task.bpmn_id)
        assert {"accept", "dispatch", "sign_for", "handle", "feedback", "verify", "close", "parked",
                "approve_extension", "supervise"} <= done


def test_running_again_adds_cases_and_keeps_codes_unique(generated, demo_db, settings):
    rt, _ = generated
    generate_cases(demo_db, rt, 150, seed=8)
    with demo_db() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 750
        codes = session.scalars(select(Case.code)).all()
        assert len(set(codes)) == 750
        # A case reported now gets the next code of today's sequence, not a taken one.
        clerk = Actors(session).for_task("acceptance_clerk", "110000/110101/110101001/")
        case = case_service.report_case(session, rt, clerk, {
            "category_code": "E0102", "grid_code": "110101001001001", "address": "南池子大街1号", "source": "hotline"})
        session.commit()
        assert case.code not in codes
        today = max(session.scalars(select(CaseCodeCounter.day)).all())
        assert today == rt.clock().astimezone(rt.calendar.tz).date()


def test_working_time_table_agrees_with_the_calendar(settings):
    rt = make_runtime(settings)
    now = rt.clock()
    table = WorkingTime(rt, (now - timedelta(days=40)).date(), (now + timedelta(days=80)).date())
    start = now - timedelta(days=30)
    for i in range(300):
        moment = start + timedelta(minutes=97 * i)
        for hours in (0.5, 1, 4, 37.5):
            expected = rt.calendar.add(moment, hours=hours)
            got = table.at(table.minutes(moment) + hours * 60)
            assert abs((got - expected).total_seconds()) < 1e-3, (moment, hours)
    assert isinstance(table.at(table.minutes(now)), datetime)


def test_the_demo_generate_command_adds_the_cases_it_says(run_gridflow, sessions):
    assert run_gridflow("init", "--demo").exit_code == 0
    result = run_gridflow("demo", "generate", "--cases", "120", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "added 120 cases" in result.output
    again = run_gridflow("demo", "generate", "--cases", "30")
    assert again.exit_code == 0 and "added 30 cases" in again.output
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 150


def test_a_million_cases_are_a_districts_year_and_more_with_a_few_percent_open(demo_db, settings):
    weights, share = _mix(1_000_000)
    closed = sum(w for v, w in zip(MIX, weights) if v in CLOSED_VARIANTS)
    assert share == 0.025 and abs((sum(weights) - closed) / sum(weights) - 0.025) < 1e-9
    # A small demo keeps its fifth of open cases in every stage.
    assert _mix(600)[0] == list(MIX.values()) and 0.2 < _mix(600)[1] < 0.22
    rt = make_runtime(settings)
    with demo_db() as session:
        world = _World(session, rt, deployed_version_id(session, rt), random.Random(1), {}, 1_000_000)
    assert world.window_days == 500 and world.open_share == 0.025
