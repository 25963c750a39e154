"""The designers' policy files: the loader's errors, the checks before deploy, and a city whose
files differ getting different behaviour with no code change."""
from __future__ import annotations

import shutil

import pytest

from demo.loader import load_demo_city
from engine.assembly import make_runtime
from engine.errors import Forbidden, InputError
from engine.access import accounts
from engine.lifecycle import tasks as task_service
from engine.outbound import notifications
from engine.process import deploy as process_service
from engine.process.policy import POLICY_FILES, PolicyError, load_policy, parse_policy, read_policy_files
from models import ProcessVersion

from tests.engine.conftest import Driver, notified, sweep_at
from tests.timekeeping import at


@pytest.fixture
def shipped(settings):
    return read_policy_files(settings["PROCESSES_DIR"])


@pytest.mark.parametrize("file, old, new, message", [
    ("policy.toml", 'roles = ["shift_leader"]\n\n# Who has the team', 'roles = ["shift_boss"]\n\n# Who has the team',
     "policy.toml: assign.roles: 'shift_boss' is not a role of roles.codes"),
    ("policy.toml", "hotline = [", "hotlin = [", "policy.toml: report.channels.hotlin: unknown channel"),
    ("policy.toml", '"值班长" = "shift_leader"', '"值班长" = "captain"', "policy.toml: lanes.值班长: 'captain' is not a role"),
    ("policy.toml", "rank = 3", "rank = 2", "policy.toml: escalation.levels: every level needs its own rank"),
    ("policy.toml", "rank = 1", 'rank = "one"', "policy.toml: escalation.levels.community.rank: must be a whole number"),
    ("policy.toml", "[board]\nroles", "[board]\nwho", "policy.toml: board.roles: missing"),
    ("policy.toml", 'grid_worker = ["grid"]', 'grid_worker = ["block"]',
     "policy.toml: roles.held_at.grid_worker: 'block' is not one of city, district, street, community, grid, department"),
    ("policy.toml", 'admin = ["city", "district", "street"]',
     'mayor = ["city"]', "policy.toml: roles.held_at.mayor: 'mayor' is not a role of roles.codes"),
    ("policy.toml", 'whole_city_at = ["city", "district"]', 'whole_city_at = ["town"]',
     "policy.toml: administer.whole_city_at: 'town' is not one of"),
    ("stages.toml", 'owner = "department"', 'owner = "nobody"', "stages.toml: stages.sign.owner: must be one of"),
    ("stages.toml", 'expected_completion = "handle"', 'expected_completion = "fix"',
     "stages.toml: expected_completion: 'fix' is not a stage listed here"),
    ("notices.toml", "[overdue]", "[late]", "notices.toml: overdue: missing (the engine writes it)"),
    ("stages.toml", 'board = "supervision"', 'board = "supervisors"', "stages.toml: stages.supervise.board: must be one of"),
    ("stages.toml", "own_clock = true", 'own_clock = "yes"', "stages.toml: stages.supervise.own_clock: must be true or false"),
    ("notices.toml", 'default_locale = "zh"', "default_locale = zh", "notices.toml: not valid TOML"),
])
def test_a_broken_policy_file_is_refused_naming_file_key_and_rule(shipped, file, old, new, message):
    assert old in shipped[file]
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_policy(dict(shipped, **{file: shipped[file].replace(old, new, 1)}))


def test_a_missing_policy_file_is_named(shipped, tmp_path):
    with pytest.raises(PolicyError, match="notices.toml: file missing"):
        parse_policy({k: v for k, v in shipped.items() if k != "notices.toml"})
    with pytest.raises(PolicyError, match="file missing"):
        load_policy(tmp_path)


def test_validate_refuses_a_stage_outside_the_vocabulary_and_warns_about_an_unused_one(settings):
    rt = make_runtime(settings)
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    broken = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace(
        '<camunda:property name="stage" value="verify" />', '<camunda:property name="stage" value="inspect" />')})
    report = process_service.check(rt, broken, required="grid_case")
    assert "grid_case/verify: stage 'inspect' is not in the stage vocabulary (stages.toml)" in report.problems
    assert report.warnings == ["stages.toml: stage 'verify' is not used by any diagram"]
    assert process_service.check(rt, files, required="grid_case").warnings == []


def test_a_stage_with_its_own_clock_must_be_a_side_task(settings):
    rt = make_runtime(settings)
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    main_clock = dict(files, **{"stages.toml": files["stages.toml"].replace(
        '[stages.handle]\nzh = "处置"\nen = "Handling"\npublic = { zh = "处置中", en = "Being fixed" }\nowner = "department"\n',
        '[stages.handle]\nzh = "处置"\nen = "Handling"\npublic = { zh = "处置中", en = "Being fixed" }\nowner = "department"\n'
        'own_clock = true\n')})
    assert main_clock["stages.toml"] != files["stages.toml"]
    problems = process_service.check(rt, main_clock, required="grid_case").problems
    assert problems == ["grid_case/handle: stage 'handle' keeps its own clock (stages.toml own_clock), so its task "
                        "must be a side task (affectsStage = false)"]


def test_an_element_id_used_twice_is_refused(settings):
    rt = make_runtime(settings)
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    twice = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace(
        'id="Flow_supervision_review_gw"', 'id="Flow_review_gw"').replace(
        '<bpmn:incoming>Flow_supervision_review_gw</bpmn:incoming>', '<bpmn:incoming>Flow_review_gw</bpmn:incoming>')})
    problems = process_service.check(rt, twice, required="grid_case").problems
    assert "grid_case.bpmn: element id 'Flow_review_gw' is used twice; ids must be unique" in problems


def _city(tmp_path, sessions, settings, edits: dict[str, list[tuple[str, str]]]) -> Driver:
    """The demo city with its own copy of processes/, edited, deployed from there."""
    folder = tmp_path / "processes"
    shutil.copytree(settings["PROCESSES_DIR"], folder)
    for name, changes in edits.items():
        text = (folder / name).read_text(encoding="utf-8")
        for old, new in changes:
            assert old in text, (name, old)
            text = text.replace(old, new)
        (folder / name).write_text(text, encoding="utf-8")
    own = dict(settings, PROCESSES_DIR=str(folder))
    driver = Driver(sessions, own)
    with sessions() as session:
        load_demo_city(session, own["GRID_CODE_LENGTH"])
        process_service.deploy(session, driver.rt, process_service.read_files([folder]), own["CASE_PROCESS"])
        session.commit()
    return driver


def test_a_city_where_shift_leaders_may_not_assign_but_supervisors_may(tmp_path, sessions, settings, clock):
    driver = _city(tmp_path, sessions, settings, {"policy.toml": [
        ('[assign]\nroles = ["shift_leader"]', '[assign]\nroles = ["supervisor"]')]})
    case = driver.report()
    task = driver.task(case, "accept")
    with pytest.raises(Forbidden, match="only a holder of supervisor"):
        task_service.assign(driver.session, driver.rt, driver.user("leader_dhm"), task.id, "clerk_dhm")
    task_service.assign(driver.session, driver.rt, driver.user("super_dhm"), task.id, "clerk_dhm")
    assert task.assignee.username == "clerk_dhm"
    driver.close()


def test_a_city_that_renames_a_lane_and_lets_the_hotline_be_self_handled(tmp_path, sessions, settings, clock):
    driver = _city(tmp_path, sessions, settings, {
        "grid_case.bpmn": [('name="受理员"', 'name="受理专员"')],
        "policy.toml": [('"受理员" = "acceptance_clerk"', '"受理专员" = "acceptance_clerk"'),
                        ('channels = ["patrol"]\nroles = ["grid_worker"]',
                         'channels = ["patrol", "hotline"]\nroles = ["grid_worker", "acceptance_clerk"]')]})
    case = driver.report()
    assert driver.task(case, "accept").role == "acceptance_clerk"
    handled = driver.report("clerk_dhm", source="hotline", self_handled=True)
    assert handled.self_handled
    with pytest.raises(InputError) as err:
        driver.report("grid_dhm_01", source="hotline")
    assert err.value.errors["source"] == ["Reports from channel hotline are recorded by: acceptance_clerk, admin."]
    driver.close()


def test_a_city_whose_street_level_tells_only_supervisors_in_english(tmp_path, sessions, settings, clock):
    driver = _city(tmp_path, sessions, settings, {
        "policy.toml": [('rank = 2\nroles = ["supervisor", "shift_leader"]', 'rank = 2\nroles = ["supervisor"]')],
        "notices.toml": [('default_locale = "zh"', 'default_locale = "en"')]})
    driver.user("super_dhm").locale = "fr"      # no French texts: the city's default
    driver.session.commit()
    case = driver.report()                      # accept due 11:00; its ladder starts at the street
    sweep_at(driver, clock, at(25, 11, 1))
    assert notified(driver, case, "overdue") == {"clerk_dhm", "clerk_district", "super_dhm"}
    told = {n.kind: n.message for n in notifications.unread(driver.session, driver.user("super_dhm").id)}
    assert told == {"overdue": f"Case {case.code}: Acceptance is overdue."}
    clerk = {n.kind: n.message for n in notifications.unread(driver.session, driver.user("clerk_dhm").id)}
    assert clerk["overdue"] == f"案件 {case.code} 的受理环节已超期。"   # a Chinese account reads Chinese
    driver.close()


def test_the_ladder_a_running_case_follows_is_the_one_deployed_with_it(driver, settings, clock, tmp_path):
    case = driver.report()
    folder = tmp_path / "processes"
    shutil.copytree(settings["PROCESSES_DIR"], folder)
    policy = folder / "policy.toml"
    policy.write_text(policy.read_text(encoding="utf-8").replace(
        'rank = 2\nroles = ["supervisor", "shift_leader"]', 'rank = 2\nroles = ["supervisor"]'), encoding="utf-8")
    process_service.deploy(driver.session, driver.rt, process_service.read_files([folder]), "grid_case")
    driver.session.commit()
    newer = driver.report()
    sweep_at(driver, clock, at(25, 11, 1))
    clerks = {"clerk_dhm", "clerk_district"}
    assert notified(driver, case, "overdue") == clerks | {"super_dhm", "leader_dhm"}   # its own version's ladder
    assert notified(driver, newer, "overdue") == clerks | {"super_dhm"}                # the new version's
    assert set(POLICY_FILES) <= set(driver.session.get(ProcessVersion, newer.process_version_id).source_files)


def test_a_city_whose_supervisors_administer_and_whose_shift_leaders_start_on_the_board(
        tmp_path, sessions, settings, clock):
    driver = _city(tmp_path, sessions, settings, {"policy.toml": [
        ('[administer]\nroles = ["admin"]', '[administer]\nroles = ["supervisor"]'),
        ('[start]\nboard = ["supervisor"]', '[start]\nboard = ["supervisor", "shift_leader"]')]})
    policy = driver.rt.policy
    supervisor, admin, leader, clerk = (driver.user(n) for n in ("super_dhm", "admin", "leader_dhm", "clerk_dhm"))
    assert policy.starts_on_board(leader) and policy.starts_on_board(supervisor)
    assert not policy.starts_on_board(clerk)
    # Token management of other users follows [administer]: the supervisor may, the admin may not.
    row, _secret = accounts.create_token(driver.session, driver.rt, supervisor, "for the clerk", "clerk_dhm")
    assert row.user_id == clerk.id
    with pytest.raises(Forbidden, match="another user's tokens"):
        accounts.list_tokens(driver.session, driver.rt, admin, "clerk_dhm")
    driver.close()


def test_a_version_deployed_before_administer_and_start_existed_still_reads(shipped):
    files = dict(shipped)
    text = files["policy.toml"]
    for table in ('[administer]\nroles = ["admin"]\nwhole_city_at = ["city", "district"]', '[start]\nboard = ["supervisor"]'):
        assert table in text
        text = text.replace(table, "")
    policy = parse_policy({**files, "policy.toml": text})
    assert policy.admin_roles == () and policy.board_start_roles == ()
    assert policy.levels  # the ladder a running case follows is intact
