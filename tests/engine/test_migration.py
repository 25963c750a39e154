"""Moving running cases between process versions: dry run, batches, mapping, undo."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Conflict, InputError, NotFound
from engine.lifecycle import migration
from engine.process import deploy as process_service
from models import CaseMigration

from tests.engine.conftest import kinds, renamed

KEY = "grid_case"


@pytest.fixture
def files(settings):
    return process_service.read_files([settings["PROCESSES_DIR"]])


def deploy(driver, monkeypatch, files):
    with monkeypatch.context() as patched:  # a renamed task's id breaks no rule, but skip the city checks
        patched.setattr(process_service, "validate", lambda *args, **kwargs: [])
        version = process_service.deploy(driver.session, driver.rt, files, KEY).version
    driver.session.commit()
    return version.version


def relabelled(files):
    return dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace('name="签收"', 'name="签收确认"', 1)})


@pytest.fixture
def three(driver, clock):
    """Three open cases on version 1: at 受理 (accept), at 签收 (sign_for) and in handling."""
    at_accept = driver.report()
    at_sign = driver.report()
    driver.do(at_sign, "accept", "clerk_dhm", decision="file")
    driver.do(at_sign, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    handling = driver.report()
    driver.do(handling, "accept", "clerk_dhm", decision="file")
    driver.do(handling, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    driver.do(handling, "sign_for", "handler_hw", sign_decision="sign")
    return at_accept, at_sign, handling


def version_of(driver, case):
    from models import ProcessVersion
    driver.session.expire_all()
    return driver.session.get(ProcessVersion, case.process_version_id).version


def test_dry_run_says_per_case_what_can_move_and_writes_nothing(driver, three, files, monkeypatch):
    at_accept, at_sign, handling = three
    target = deploy(driver, monkeypatch, renamed(files, "sign_for", "sign_receipt"))
    plan = migration.plan(driver.session, driver.rt, KEY, 1, target)
    fits = {f.code: f for f in migration.dry_run(driver.session, driver.rt, plan)}
    assert fits[at_accept.code].can_migrate  # 签收 is still ahead of it: nothing it did is gone
    assert not fits[at_sign.code].can_migrate
    assert fits[at_sign.code].reasons == (f"it waits in sign_for, which version {target} does not have",)
    assert not fits[handling.code].can_migrate
    assert fits[handling.code].reasons == (f"it has already run sign_for, which version {target} does not have",)
    driver.session.rollback()
    assert {version_of(driver, c) for c in three} == {1}
    assert driver.session.query(CaseMigration).count() == 0


def test_migration_keeps_task_ids_and_due_times_and_records_who_moved_them(driver, three, files, monkeypatch):
    at_accept, at_sign, handling = three
    before = {c.code: ({t.spiff_id for t in driver.open_tasks(c)}, dict(c.due_times or {}), c.next_timer_at)
              for c in three}
    target = deploy(driver, monkeypatch, relabelled(files))
    plan = migration.plan(driver.session, driver.rt, KEY, 1, target)
    batches = []
    for batch in migration.migrate(driver.session, driver.rt, plan, "designer_li", batch_size=2):
        driver.session.commit()
        batches.append(batch)
    assert [len(b.migrated) for b in batches] == [2, 1] and not any(b.failed for b in batches)
    driver.session.expire_all()
    for case in three:
        assert version_of(driver, case) == target
        tasks, due, timer = before[case.code]
        assert {t.spiff_id for t in driver.open_tasks(case)} == tasks
        assert dict(case.due_times or {}) == due and case.next_timer_at == timer
        moved = [e for e in driver.events(case) if e.kind == "migrated"]
        assert moved[-1].data["from_version"] == 1 and moved[-1].data["to_version"] == target
        assert moved[-1].data["by"] == "designer_li"
        driver.check_round_trip(case)
    assert driver.task(at_sign, "sign_for").name == "签收确认"  # the projection follows the new version
    driver.do(at_sign, "sign_for", "handler_hw", sign_decision="sign")
    assert driver.task(at_sign, "handle").status == "open"


def test_a_designer_mapping_moves_a_case_waiting_in_a_renamed_task(driver, three, files, monkeypatch, clock):
    _, at_sign, _ = three
    due = dict(at_sign.due_times)
    target = deploy(driver, monkeypatch, renamed(files, "sign_for", "sign_receipt"))
    plan = migration.plan(driver.session, driver.rt, KEY, 1, target, {"sign_for": "sign_receipt"})
    [batch] = migration.migrate(driver.session, driver.rt, plan, "designer_li", [at_sign.code])
    driver.session.commit()
    assert batch.migrated == [at_sign.code]
    driver.session.expire_all()
    assert dict(at_sign.due_times) == due
    driver.do(at_sign, "sign_receipt", "handler_hw", sign_decision="sign")
    assert driver.task(at_sign, "handle").status == "open"


def test_bad_plans_are_refused_naming_the_field(driver, three, files, monkeypatch):
    target = deploy(driver, monkeypatch, relabelled(files))
    with pytest.raises(NotFound, match="no version 9"):
        migration.plan(driver.session, driver.rt, KEY, 1, 9)
    with pytest.raises(InputError) as bad:
        migration.plan(driver.session, driver.rt, KEY, 1, target, {"sign_for": "nowhere"})
    assert "nowhere" in bad.value.errors["map"][0]
    with pytest.raises(InputError) as same:
        migration.plan(driver.session, driver.rt, KEY, 1, 1)
    assert "to" in same.value.errors
    plan = migration.plan(driver.session, driver.rt, KEY, 1, target)
    with pytest.raises(NotFound, match="GF-NOPE"):
        migration.dry_run(driver.session, driver.rt, plan, ["GF-NOPE"])


def test_undo_restores_the_cases_that_took_no_step_since(driver, three, files, monkeypatch, clock):
    at_accept, at_sign, handling = three
    target = deploy(driver, monkeypatch, relabelled(files))
    plan = migration.plan(driver.session, driver.rt, KEY, 1, target)
    states = {c.code: c.state for c in three}
    [batch] = migration.migrate(driver.session, driver.rt, plan, "designer_li")
    driver.session.commit()
    driver.do(handling, "handle", "handler_hw", action="done")   # a step on the new version
    result = migration.undo(driver.session, driver.rt, batch.run, "designer_li")
    driver.session.commit()
    assert sorted(result.restored) == sorted([at_accept.code, at_sign.code])
    assert [f.code for f in result.refused] == [handling.code]
    assert "taken steps" in result.refused[0].reasons[0]
    driver.session.expire_all()
    assert version_of(driver, at_accept) == 1 and version_of(driver, handling) == target
    assert at_accept.state == states[at_accept.code]
    assert kinds(driver, at_accept, "migrated") == ["migrated", "migrated"]
    assert driver.task(at_sign, "sign_for").name == "签收"        # the old version's name again
    driver.do(at_accept, "accept", "clerk_dhm", decision="file")  # runs on version 1 again
    assert driver.task(at_accept, "dispatch").status == "open"
    assert migration.undo(driver.session, driver.rt, batch.run, "designer_li").restored == []  # once only


def test_undo_is_refused_after_the_window(driver, three, files, monkeypatch, clock):
    target = deploy(driver, monkeypatch, relabelled(files))
    plan = migration.plan(driver.session, driver.rt, KEY, 1, target)
    [batch] = migration.migrate(driver.session, driver.rt, plan, "designer_li")
    driver.session.commit()
    clock.shift(timedelta(days=8))
    with pytest.raises(Conflict, match="can no longer be undone"):
        migration.undo(driver.session, driver.rt, batch.run, "designer_li")
    with pytest.raises(NotFound):
        migration.undo(driver.session, driver.rt, "no-such-run", "designer_li")
