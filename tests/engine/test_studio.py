"""The studio's engine side: a version diff in the designer's words, drafts (saved, checked
with problems pinned, refused while behind unless seen), and a deploy that every process sees
at once: another runtime (a second web or worker process) starts new cases on the new version
without a restart."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.assembly import make_runtime
from engine.errors import Conflict, InputError
from engine.lifecycle import cases as case_service
from engine.process import deploy as process_service
from engine.process import drafts, versions
from engine.process.diff import diff_files
from models import User

GRID = "110101001001001"


@pytest.fixture
def files(settings):
    return process_service.read_files([settings["PROCESSES_DIR"]])


def _user(session, name="designer"):
    return session.scalars(select(User).where(User.username == name)).one()


def test_the_diff_names_tasks_gateways_timers_forms_and_rule_rows(files):
    new = dict(files)
    new["grid_case.bpmn"] = (files["grid_case.bpmn"]
                             .replace('name="派遣"', 'name="派遣任务"', 1)
                             .replace("<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">accept_due</bpmn:timeDate>",
                                      "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">accept_started</bpmn:timeDate>")
                             .replace('label="回退理由"', 'label="退回理由"', 1))
    new["routing.dmn"] = files["routing.dmn"].replace('<text>"CG"</text>', '<text>"HW"</text>', 1)
    diff = diff_files(files, new)
    by = {(c.kind, c.element): c for c in diff.changes}
    assert ("name", "派遣", "派遣任务") in by[("task", "dispatch")].details
    assert ("timer", "timeDate: accept_due", "timeDate: accept_started") in by[("timer", "accept_overdue")].details
    assert any("退回理由" in after for _, _, after in by[("form", "sign_for")].details)
    (routing,) = diff.decisions
    ((before, after),) = routing.changed
    assert before.id == after.id and '"CG"' in before.cells and '"HW"' in after.cells
    assert not routing.added and not routing.removed
    assert diff_files(files, files).empty


def test_added_and_removed_rules_are_rows(files):
    text = files["routing.dmn"]
    start = text.index("<rule ")
    end = text.index("</rule>", start) + len("</rule>")
    removed = text[:start] + text[end:]
    diff = diff_files(files, dict(files, **{"routing.dmn": removed}))
    assert [r.id for r in diff.decisions[0].removed] and not diff.decisions[0].added
    back = diff_files(dict(files, **{"routing.dmn": removed}), files)
    assert [r.id for r in back.decisions[0].added] == [r.id for r in diff.decisions[0].removed]


def test_a_draft_deploys_like_the_command_line_and_refuses_when_behind(demo_db, settings):
    rt = make_runtime(settings)
    with demo_db() as session:
        user = _user(session)
        old = drafts.start(session, rt, user, "grid_case")
        new = drafts.start(session, rt, user, "grid_case")
        view = drafts.view(session, rt, new.id)
        changed = view.files["sla.dmn"].replace("处置时限", "处置时限表", 1)
        drafts.save(session, rt, new.id, {"sla.dmn": changed})
        with pytest.raises(InputError):
            drafts.deploy(session, rt, user, new.id, "  ")
        deployed = drafts.deploy(session, rt, user, new.id, "renamed the table")
        assert deployed.version.version == 2 and deployed.version.deployed_by == "designer"
        assert deployed.version.note == "renamed the table"
        with pytest.raises(Conflict):
            drafts.save(session, rt, new.id, {"sla.dmn": changed})
        assert drafts.view(session, rt, old.id).behind
        drafts.save(session, rt, old.id, {"routing.dmn": view.files["routing.dmn"].replace("分流规则", "分流", 1)})
        with pytest.raises(Conflict, match="based on version 1, but version 2"):
            drafts.deploy(session, rt, user, old.id, "mine")
        assert drafts.deploy(session, rt, user, old.id, "mine", behind_seen=True).version.version == 3
        listed = versions.versions(session, "grid_case")
        assert [v.version for v in listed] == [3, 2, 1] and listed[0].current
        assert listed[2].deployed_by is None  # the fixture deployed without saying who


def test_check_pins_problems_to_elements(demo_db, settings):
    rt = make_runtime(settings)
    with demo_db() as session:
        draft = drafts.start(session, rt, _user(session), "grid_case")
        text = drafts.view(session, rt, draft.id).files["grid_case.bpmn"]
        drafts.save(session, rt, draft.id, {"grid_case.bpmn": text.replace(
            'camunda:formKey="accept"', "")})
        report = drafts.check(session, rt, draft.id)
        pinned = [p for p in report.problems if "formKey" in p.text]
        assert pinned and pinned[0].element == "accept" and pinned[0].file == "grid_case.bpmn"


def test_a_deploy_reaches_every_process_without_a_restart(demo_db, settings, files):
    web, worker = make_runtime(settings), make_runtime(settings)   # two processes' runtimes
    report = {"category_code": "E0102", "grid_code": GRID, "address": "南池子大街12号",
              "description": "路边堆放生活垃圾", "source": "patrol"}
    with demo_db() as session:
        first = case_service.report_case(session, worker, _user(session, "grid_dhm_01"), report)
        session.commit()
        changed = dict(files, **{"grid_case.bpmn": files["grid_case.bpmn"].replace("受理立案", "受理与立案")})
        process_service.deploy(session, web, changed, "grid_case", deployed_by="cli:test", note="rename")
        session.commit()
    with demo_db() as session:
        second = case_service.report_case(session, worker, _user(session, "grid_dhm_01"), report)
        session.commit()
        assert second.process_version_id != first.process_version_id
        names = {t.case_id: t.name for t in case_service.open_tasks(session, second)}
        assert names[second.id] == "受理与立案"
        counts = {v.version: (v.open_cases, v.all_cases) for v in versions.versions(session, "grid_case")}
        assert counts == {1: (1, 1), 2: (1, 1)}


def test_export_writes_a_version_back_and_the_command_line_sees_the_same_version(demo_db, settings, tmp_path):
    rt = make_runtime(settings)
    with demo_db() as session:
        user = _user(session)
        draft = drafts.start(session, rt, user, "grid_case")
        text = drafts.view(session, rt, draft.id).files["sla.dmn"]
        drafts.save(session, rt, draft.id, {"sla.dmn": text.replace("处置时限", "处置时限表", 1)})
        browser = drafts.deploy(session, rt, user, draft.id, "from the browser").version
        written = versions.export(session, "grid_case", browser.version, tmp_path / "out")
        assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == sorted(browser.source_files)
        # What `gridflow processes deploy` would read from the exported folder is that version.
        again = process_service.deploy(session, rt, process_service.read_files([tmp_path / "out"]), "grid_case",
                                       deployed_by="cli:test")
        assert not again.created and again.version.id == browser.id
