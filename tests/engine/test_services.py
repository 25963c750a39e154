"""Claiming and assigning tasks, inbox filters and counts, case search, the supervision board,
attachments and comments: the services behind the inbox, the case page and the API."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from engine.lifecycle import attachments
from engine.lifecycle import comments
from engine.queries import inbox as inbox_service
from engine.queries import search
from engine.lifecycle import tasks as task_service
from engine.errors import Conflict, Forbidden, InputError, NotFound
from models import Task

from tests.engine.conftest import FRINGE_GRID

from tests.timekeeping import SH, WEDNESDAY_10
from tests.photos import png



pytestmark = pytest.mark.usefixtures("clock")



def test_claim_unclaim_and_assign_with_versions_and_audit(driver):
    case = driver.report()
    task = driver.task(case, "accept")
    clerk, leader = driver.user("clerk_dhm"), driver.user("leader_dhm")
    task_service.claim(driver.session, driver.rt, clerk, task.id)
    driver.session.commit()
    assert task.assignee_id == clerk.id and task.version == 2
    # Another clerk above (district) cannot take it now, and cannot release it.
    other = driver.user("clerk_district")
    with pytest.raises(Conflict, match="already claimed by 陈静"):
        task_service.claim(driver.session, driver.rt, other, task.id)
    with pytest.raises(Forbidden):
        task_service.unclaim(driver.session, driver.rt, other, task.id)
    # A stale version is refused and changes nothing.
    with pytest.raises(Conflict, match="you saw 1"):
        task_service.unclaim(driver.session, driver.rt, clerk, task.id, expected_version=1)
    # The shift leader hands it to the district clerk; only people who may take it qualify.
    assert {u.username for u in task_service.candidates(driver.session, task)} == {"clerk_dhm", "clerk_district"}
    with pytest.raises(InputError) as err:
        task_service.assign(driver.session, driver.rt, leader, task.id, "grid_dhm_01")
    assert "assignee" in err.value.errors
    with pytest.raises(Forbidden):
        task_service.assign(driver.session, driver.rt, clerk, task.id, "clerk_district")
    task_service.assign(driver.session, driver.rt, leader, task.id, "clerk_district")
    driver.session.commit()
    assert task.assignee_id == other.id
    # Assigned to someone else, the task is gone from the first clerk's inbox and they cannot complete it.
    assert inbox_service.inbox(driver.session, clerk) == []
    with pytest.raises(Conflict, match="held by"):
        driver.do(case, "accept", "clerk_dhm", decision="file")
    task_service.unclaim(driver.session, driver.rt, other, task.id)
    driver.session.commit()
    kinds = [(e.kind, e.data.get("to")) for e in driver.events(case)]
    assert kinds[1:] == [("claimed", None), ("assigned", "张伟"), ("unclaimed", None)]


def test_claiming_a_finished_task_is_a_conflict_and_invisible_tasks_are_not_found(driver):
    case = driver.report()
    task = driver.task(case, "accept")
    driver.do(case, "accept", "clerk_dhm", decision="file")
    with pytest.raises(Conflict, match="no longer open"):
        task_service.claim(driver.session, driver.rt, driver.user("clerk_dhm"), task.id)
    with pytest.raises(NotFound):
        task_service.claim(driver.session, driver.rt, driver.user("clerk_js"), task.id)
    with pytest.raises(NotFound):
        task_service.claim(driver.session, driver.rt, driver.user("clerk_js"), 2 ** 70)


def test_inbox_filters_counts_and_order(driver, clock):
    first = driver.report()
    second = driver.report("clerk_dhm", source="hotline", category_code="E0101", reporter_name="王女士")
    driver.report(grid_code=FRINGE_GRID, username="clerk_jdk")
    clerk = driver.user("clerk_dhm")
    now = datetime.now(SH)
    page = inbox_service.inbox_page(driver.session, clerk, now=now)
    assert page.total == 2 and [t.case_id for t in page.items] == [first.id, second.id]
    parse = inbox_service.InboxFilter.parse
    assert inbox_service.inbox_page(driver.session, clerk, parse({"source": "hotline"}), now=now).total == 1
    assert inbox_service.inbox_page(driver.session, clerk, parse({"category": "E01"}), now=now).total == 2
    assert inbox_service.inbox_page(driver.session, clerk, parse({"category": "E0101"}), now=now).total == 1
    assert inbox_service.inbox_page(driver.session, clerk, parse({"org": "110101001001"}), now=now).total == 2
    assert inbox_service.inbox_page(driver.session, clerk, parse({"org": "110101002"}), now=now).total == 0
    with pytest.raises(InputError) as err:
        parse({"flag": "late", "category": "rubbish", "assigned": "x"})
    assert set(err.value.errors) == {"flag", "category", "assigned"}
    with pytest.raises(InputError):
        inbox_service.inbox_page(driver.session, clerk, parse({"org": "999999999"}), now=now)

    task_service.claim(driver.session, driver.rt, clerk, driver.task(second, "accept").id)
    driver.session.commit()
    counts = inbox_service.inbox_counts(driver.session, clerk, now=now)
    assert counts == {"all": 2, "overdue": 0, "at_risk": 0, "me": 1, "unassigned": 1, "stages": {"accept": 2}}
    # 1 working hour to accept: at 10:48 the warning timer has fired, at 11:01 it is overdue.
    clock.move_to(WEDNESDAY_10 + timedelta(minutes=49))
    from engine.lifecycle.sweep import sweep
    sweep(driver.sessions, driver.rt)
    driver.session.expire_all()
    now = datetime.now(SH)
    assert inbox_service.inbox_counts(driver.session, clerk, now=now)["at_risk"] == 2
    clock.move_to(WEDNESDAY_10 + timedelta(minutes=61))
    now = datetime.now(SH)
    counts = inbox_service.inbox_counts(driver.session, clerk, now=now)
    assert (counts["overdue"], counts["at_risk"]) == (2, 0)
    assert inbox_service.inbox_page(driver.session, clerk, parse({"flag": "overdue", "assigned": "me"}), now=now).total == 1


def test_saved_filters(driver):
    clerk = driver.user("clerk_dhm")
    f = inbox_service.InboxFilter.parse({"flag": "overdue", "source": "hotline"})
    inbox_service.save_filter(driver.session, clerk, "热线超期", f, now=WEDNESDAY_10)
    driver.session.commit()
    (saved,) = inbox_service.saved_filters(driver.session, clerk)
    assert inbox_service.InboxFilter.parse(inbox_service.saved_filter_args(saved)) == f
    with pytest.raises(InputError):
        inbox_service.save_filter(driver.session, clerk, " ", f, now=WEDNESDAY_10)
    with pytest.raises(InputError):
        inbox_service.save_filter(driver.session, clerk, "nothing", inbox_service.InboxFilter(), now=WEDNESDAY_10)
    with pytest.raises(NotFound):
        inbox_service.delete_filter(driver.session, driver.user("clerk_js"), saved.id)
    inbox_service.delete_filter(driver.session, clerk, saved.id)
    driver.session.commit()
    assert inbox_service.saved_filters(driver.session, clerk) == []


def test_case_search_sees_only_the_users_scope_and_departments(driver):
    mine = driver.report()
    driver.report(grid_code=FRINGE_GRID, username="clerk_jdk", description="另一条街道")
    now = datetime.now(SH)
    parse = search.CaseFilter.parse
    page = search.search_cases(driver.session, driver.rt, driver.user("clerk_dhm"), now=now)
    assert [c.code for c in page.items] == [mine.code]
    assert search.search_cases(driver.session, driver.rt, driver.user("admin"), now=now).total == 2
    assert search.search_cases(driver.session, driver.rt, driver.user("handler_hw"), now=now).total == 0
    driver.do(mine, "accept", "clerk_dhm", decision="file")
    driver.do(mine, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    assert search.search_cases(driver.session, driver.rt, driver.user("handler_hw"), now=now).total == 1
    admin = driver.user("admin")
    assert search.search_cases(driver.session, driver.rt, admin, parse({"q": "另一条"}), now=now).total == 1
    assert search.search_cases(driver.session, driver.rt, admin, parse({"q": mine.code.lower()}), now=now).total == 1
    assert search.search_cases(driver.session, driver.rt, admin, parse({"department": "HW"}), now=now).total == 1
    assert search.search_cases(driver.session, driver.rt, admin, parse({"created_from": "2026-11-26"}), now=now).total == 0
    with pytest.raises(InputError) as err:
        parse({"created_to": "yesterday", "status": "lost", "created_from": "0001-01-01"})
    assert set(err.value.errors) == {"created_to", "status", "created_from"}


def test_supervision_board_counts_by_department_and_street(driver, clock):
    from engine.queries.board import supervision_board
    policy, cal = driver.rt.policy, driver.rt.calendar
    case = driver.report()
    unfiled = driver.report(grid_code=FRINGE_GRID, username="clerk_jdk")
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    driver.do(case, "sign_for", "handler_hw", sign_decision="sign")
    from engine.lifecycle.sweep import sweep
    clock.move_to(WEDNESDAY_10 + timedelta(days=1))  # Thursday 10:00: handling (4 h) is overdue
    sweep(driver.sessions, driver.rt)
    driver.session.expire_all()
    now = datetime.now(SH)
    board = supervision_board(driver.session, driver.user("super_district"), now=now, policy=policy, calendar=cal)
    assert board.overdue == 2
    # The late acceptance is the centre's own: it is not put on any department.
    assert [(r.key, r.overdue) for r in board.by_department] == [("HW", 1)]
    assert sorted((r.key, r.overdue) for r in board.by_owner) == [("centre", 1), ("department", 1)]
    assert sorted((r.key, r.name, r.overdue) for r in board.by_street) == [
        ("110101001", "东华门街道", 1), ("110101003", "交道口街道", 1)]
    # late in handling and late in acceptance: each has a 督办, both in the district's scope
    assert sorted(r.task.case_id for r in board.supervision.rows) == sorted([case.id, unfiled.id])
    street_board = supervision_board(driver.session, driver.user("super_dhm"), now=now, policy=policy, calendar=cal)
    assert street_board.overdue == 1 and [r.key for r in street_board.by_street] == ["110101001"]
    assert supervision_board(driver.session, driver.user("clerk_dhm"), now=now, policy=policy, calendar=cal).overdue == 0


def test_attachments_are_checked_stored_and_thumbnailed(driver, tmp_path):
    driver.rt.settings["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    driver.rt.settings["ATTACHMENT_MAX_BYTES"] = 200_000
    case = driver.report()
    user = driver.user("grid_dhm_01")
    att = attachments.add_attachment(driver.session, driver.rt, user, case, "../../etc/现场.png", png())
    driver.session.commit()
    assert (att.filename, att.content_type) == ("现场.png", "image/png")
    stored = attachments.attachment_file(driver.session, driver.rt, case, att.id)
    assert stored.path.read_bytes() == png() and str(stored.path).startswith(str(tmp_path / "files"))
    thumb = attachments.attachment_file(driver.session, driver.rt, case, att.id, thumbnail=True)
    with Image.open(thumb.path) as image:
        assert image.format == "JPEG" and max(image.size) == 320
    for data, message in ((b"", "empty"), (b"%PDF-1.4 not a photo", "Not a readable photo"),
                          (b"x" * 300_000, "the limit is")):
        with pytest.raises(InputError) as err:
            attachments.add_attachment(driver.session, driver.rt, user, case, "a.png", data)
        assert message in err.value.errors["photo"][0]
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(InputError) as err:
        attachments.add_attachment(driver.session, driver.rt, user, case, "a.gif", gif.getvalue())
    assert "GIF" in err.value.errors["photo"][0]
    other = driver.report()
    with pytest.raises(NotFound):
        attachments.attachment_file(driver.session, driver.rt, other, att.id)
    assert [a.id for a in attachments.list_attachments(driver.session, case)] == [att.id]
    assert [e.kind for e in driver.events(case)][-1] == "attachment_added"


def test_comments(driver):
    case = driver.report()
    user = driver.user("clerk_dhm")
    comments.add_comment(driver.session, driver.rt, user, case, "  已电话联系报告人  ")
    driver.session.commit()
    for bad in ("", "   ", "x" * 2001, None, "a\x00b"):
        with pytest.raises(InputError) as err:
            comments.add_comment(driver.session, driver.rt, user, case, bad)
        assert "body" in err.value.errors
    assert [(c.body, c.author.username) for c in comments.list_comments(driver.session, case)] == [
        ("已电话联系报告人", "clerk_dhm")]


def test_a_stale_expected_version_is_a_precondition_failure_and_changes_nothing(driver):
    from engine.lifecycle import cases as case_service
    from engine.errors import PreconditionFailed
    case = driver.report()
    task = driver.task(case, "accept")
    clerk = driver.user("clerk_dhm")
    with pytest.raises(PreconditionFailed):
        task_service.claim(driver.session, driver.rt, clerk, task.id, expected_version=task.version,
                           expected_case_version=case.version - 1)
    with pytest.raises(PreconditionFailed):
        task_service.claim(driver.session, driver.rt, clerk, task.id, expected_version=task.version + 1)
    with pytest.raises(PreconditionFailed):
        case_service.complete_task(driver.session, driver.rt, clerk, task.id, {"decision": "file"},
                                   expected_version=case.version, expected_task_version=task.version + 1)
    # Seen inside the same transaction, before any rollback: nothing was written.
    row = driver.session.execute(select(Task.assignee_id, Task.status, Task.version).where(Task.id == task.id)).one()
    assert tuple(row) == (None, "open", 1)
    driver.session.rollback()
    task_service.claim(driver.session, driver.rt, clerk, task.id, expected_version=1,
                       expected_case_version=case.version)
    assert task.version == 2


def test_a_photo_with_too_many_pixels_is_refused_before_it_is_decoded(driver, tmp_path, monkeypatch):
    driver.rt.settings["ATTACHMENTS_DIR"] = str(tmp_path / "files")
    driver.rt.settings["ATTACHMENT_MAX_PIXELS"] = 7000 * 7000 - 1
    case = driver.report()
    bomb = png(7000, 7000, (255, 255, 255))  # ~150 KB compressed, ~150 MB decoded
    assert len(bomb) < 1_000_000
    decoded = []
    from PIL import ImageFile
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size))
    with pytest.raises(InputError) as err:
        attachments.add_attachment(driver.session, driver.rt, driver.user("grid_dhm_01"), case, "big.png", bomb)
    assert "7000×7000" in err.value.errors["photo"][0] and decoded == []
