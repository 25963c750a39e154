"""Administration in the engine: each operation, its entry in the change log, and the scope of a
street's administrator."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.access.accounts import create_token, sign_in, user_for_token
from engine.admin import changes, org, passwords, users
from engine.admin.city import city_files_from_upload, import_uploaded_city
from engine.admin.users import MembershipSpec
from engine.city import CityError
from engine.errors import Conflict, Forbidden, InputError, NotFound
from engine.lifecycle import tasks as task_service
from engine.queries.choices import intake_choices
from models import AdminChange, Task

from tests.engine.conftest import GRID

DHM, JS = "110101001", "110101002"            # 东华门街道, 景山街道
DHM_GRID, JS_GRID = GRID, "110101002001001"


@pytest.fixture
def street_admin(driver):
    """An administrator of 东华门街道 only."""
    user, _ = users.create_user(driver.session, driver.rt, driver.user("admin"), "admin_dhm", "东华门管理员",
                                memberships=[MembershipSpec("admin", org_unit=DHM)])
    driver.session.commit()
    return user


def log(driver, code):
    return list(driver.session.scalars(select(AdminChange).where(AdminChange.target_code == code)
                                       .order_by(AdminChange.id)))


def test_an_admin_creates_a_user_who_chooses_a_password_with_the_initial_code(driver, clock):
    admin = driver.user("admin")
    user, issued = users.create_user(driver.session, driver.rt, admin, "clerk_new", "新受理员", "zh",
                                     [MembershipSpec("acceptance_clerk", org_unit=DHM)])
    driver.session.commit()
    assert sign_in(driver.session, "clerk_new", issued.code) is None        # a code is no password
    assert passwords.initial_code_holder(driver.session, driver.rt, "clerk_new", issued.code).id == user.id
    assert issued.expires_at == driver.rt.clock() + timedelta(days=float(driver.rt.settings["INITIAL_CODE_DAYS"]))
    passwords.set_password_with_code(driver.session, driver.rt, "clerk_new", issued.code, "my-own-password",
                                     "my-own-password")
    driver.session.commit()
    assert sign_in(driver.session, "clerk_new", "my-own-password").id == user.id
    assert passwords.initial_code_holder(driver.session, driver.rt, "clerk_new", issued.code) is None
    entry, chosen = log(driver, "clerk_new")
    assert (entry.action, entry.actor_id, entry.old) == ("create", admin.id, None)
    assert (chosen.action, chosen.actor_id, chosen.new) == ("set_password", user.id, {"password": "set"})
    assert entry.new["memberships"] == [["acceptance_clerk", "110000/110101/110101001/"]]
    assert entry.scope_path == "110000/110101/110101001/" and entry.at is not None


@pytest.mark.parametrize("spec, field, words", [
    (MembershipSpec("grid_worker", org_unit=DHM), "memberships.0.org_unit", "cannot be held at a street"),
    (MembershipSpec("acceptance_clerk", org_unit="110101009"), "memberships.0.org_unit", "not in org_units"),
    (MembershipSpec("mayor", org_unit=DHM), "memberships.0.role", "is not one of"),
    (MembershipSpec("department_handler", department="NOPE"), "memberships.0.department", "not in departments"),
    (MembershipSpec("dispatcher"), "memberships.0.org_unit", "either an org unit or a department"),
])
def test_a_bad_membership_is_refused_naming_field_and_rule_and_nothing_is_written(driver, spec, field, words):
    with pytest.raises(InputError) as caught:
        users.create_user(driver.session, driver.rt, driver.user("admin"), "someone", "某人", memberships=[spec])
    assert any(words in m for m in caught.value.errors[field]), caught.value.errors
    driver.session.rollback()
    assert users.list_users(driver.session, driver.rt, driver.user("admin"), q="someone") == []
    assert log(driver, "someone") == []


def test_a_duplicate_username_and_a_bad_one_are_refused(driver):
    admin = driver.user("admin")
    with pytest.raises(InputError) as caught:
        users.create_user(driver.session, driver.rt, admin, "clerk_dhm", "重名")
    assert "already exists" in caught.value.errors["username"][0]
    with pytest.raises(InputError) as caught:
        users.create_user(driver.session, driver.rt, admin, "bad name!", "")
    assert set(caught.value.errors) == {"username", "name"}


def test_deactivating_a_user_stops_sign_in_and_tokens_and_gives_their_tasks_back(driver, clock):
    clerk = driver.user("clerk_dhm")
    _, secret = create_token(driver.session, driver.rt, clerk, "bridge")
    case = driver.report()
    task = driver.task(case, "accept")
    task_service.claim(driver.session, driver.rt, clerk, task.id)
    driver.session.commit()

    users.set_user_active(driver.session, driver.rt, driver.user("admin"), "clerk_dhm", False)
    driver.session.commit()

    assert sign_in(driver.session, "clerk_dhm", "gridflow-demo") is None
    assert user_for_token(driver.session, driver.rt, secret) is None
    task = driver.session.get(Task, task.id)
    driver.session.refresh(task)
    assert task.assignee_id is None and task.status == "open"
    released = [e for e in driver.events(case) if e.kind == "released"]
    assert released and released[-1].data["from"] == clerk.name and released[-1].data["reason"] == "deactivated"
    entry = log(driver, "clerk_dhm")[-1]
    assert entry.action == "deactivate" and entry.new["released_tasks"] == [task.id]

    users.set_user_active(driver.session, driver.rt, driver.user("admin"), "clerk_dhm", True)
    driver.session.commit()
    assert sign_in(driver.session, "clerk_dhm", "gridflow-demo") is not None
    assert [e.action for e in log(driver, "clerk_dhm")] == ["deactivate", "reactivate"]


def test_an_admin_cannot_deactivate_themself(driver):
    with pytest.raises(Conflict):
        users.set_user_active(driver.session, driver.rt, driver.user("admin"), "admin", False)


def test_a_reset_password_ends_the_old_one_and_earlier_codes_and_is_logged_without_the_secret(driver):
    admin = driver.user("admin")
    link, _ = passwords.issue_password_link(driver.session, driver.rt, admin, "clerk_dhm")
    first = users.reset_password(driver.session, driver.rt, admin, "clerk_dhm")
    second = users.reset_password(driver.session, driver.rt, admin, "clerk_dhm")
    driver.session.commit()
    assert sign_in(driver.session, "clerk_dhm", "gridflow-demo") is None
    assert passwords.initial_code_holder(driver.session, driver.rt, "clerk_dhm", first.code) is None
    with pytest.raises(NotFound):
        passwords.link_holder(driver.session, driver.rt, link)
    assert passwords.initial_code_holder(driver.session, driver.rt, "clerk_dhm", second.code).username == "clerk_dhm"
    entry = log(driver, "clerk_dhm")[-1]
    assert entry.action == "reset_password" and second.code not in str(entry.new)


def test_changing_roles_replaces_memberships_and_logs_old_and_new(driver):
    admin = driver.user("admin")
    view = users.update_user(driver.session, driver.rt, admin, "clerk_dhm", name="受理员甲",
                             memberships=[MembershipSpec("acceptance_clerk", org_unit=DHM),
                                          MembershipSpec("dispatcher", org_unit=DHM)])
    driver.session.commit()
    assert {m.role for m in view.memberships} == {"acceptance_clerk", "dispatcher"}
    entry = log(driver, "clerk_dhm")[-1]
    assert entry.old["name"] != "受理员甲" and entry.new["name"] == "受理员甲"
    assert ["dispatcher", "110000/110101/110101001/"] in entry.new["memberships"]
    assert ["dispatcher", "110000/110101/110101001/"] not in entry.old["memberships"]


def test_a_street_admin_manages_only_their_street(driver, street_admin):
    rt, session = driver.rt, driver.session
    names = {v.user.username for v in users.list_users(session, rt, street_admin)}
    assert "clerk_dhm" in names and "clerk_js" not in names and "admin" not in names
    with pytest.raises(NotFound):
        users.set_user_active(session, rt, street_admin, "clerk_js", False)
    with pytest.raises(NotFound):
        users.reset_password(session, rt, street_admin, "admin")
    with pytest.raises(InputError) as caught:
        users.create_user(session, rt, street_admin, "grid_js_new", "景山网格员",
                          memberships=[MembershipSpec("grid_worker", org_unit=JS_GRID)])
    assert "outside the area you administer" in caught.value.errors["memberships.0.org_unit"][0]
    with pytest.raises(NotFound):
        org.update_unit(session, rt, street_admin, JS, name="景山")
    with pytest.raises(Forbidden):
        org.save_department(session, rt, street_admin, "HW", {"name": "环卫"}, create=False)
    with pytest.raises(Forbidden):
        org.save_category(session, rt, street_admin, "E0102", {"emergency": True}, create=False)
    session.rollback()
    # Inside the street it works, and the street's history shows it but not the rest.
    users.create_user(session, rt, street_admin, "grid_dhm_new", "东华门网格员",
                      memberships=[MembershipSpec("grid_worker", org_unit=DHM_GRID)])
    org.update_unit(session, rt, street_admin, DHM_GRID, name="南池子一格")
    users.reset_password(session, rt, driver.user("admin"), "clerk_js")
    session.commit()
    seen = changes.history(session, rt, street_admin, changes.HistoryFilter())
    assert {c.target_code for c in seen.items} == {"grid_dhm_new", DHM_GRID, "admin_dhm"}
    assert "clerk_js" in {c.target_code for c in changes.history(session, rt, driver.user("admin"),
                                                                  changes.HistoryFilter()).items}


def test_someone_who_is_not_an_admin_is_refused(driver):
    with pytest.raises(Forbidden):
        users.list_users(driver.session, driver.rt, driver.user("clerk_dhm"))


def test_a_deactivated_grid_leaves_the_intake_list_but_its_cases_keep_it(driver):
    case = driver.report()
    admin = driver.user("admin")
    org.update_unit(driver.session, driver.rt, admin, GRID, active=False)
    driver.session.commit()
    offered = intake_choices(driver.session, driver.user("grid_dhm_01"), driver.rt.policy)
    assert GRID not in {g.code for g in offered.grids}
    assert case.grid.code == GRID
    with pytest.raises(InputError) as caught:
        driver.report()
    assert "grid_code" in caught.value.errors
    entry = log(driver, GRID)[-1]
    assert (entry.action, entry.old, entry.new) == ("deactivate", {"active": True}, {"active": False})


def test_a_unit_with_active_units_under_it_cannot_be_deactivated(driver):
    with pytest.raises(InputError) as caught:
        org.update_unit(driver.session, driver.rt, driver.user("admin"), "110101001001", active=False)
    assert "units under it" in caught.value.errors["active"][0]


def test_a_unit_rename_and_area_type_are_checked_and_logged(driver):
    admin = driver.user("admin")
    with pytest.raises(InputError) as caught:
        org.update_unit(driver.session, driver.rt, admin, GRID, name=" ", area_type="suburb")
    assert set(caught.value.errors) == {"name", "area_type"}
    org.update_unit(driver.session, driver.rt, admin, GRID, name="南池子一号网格", area_type="fringe")
    driver.session.commit()
    entry = log(driver, GRID)[-1]
    assert entry.new == {"name": "南池子一号网格", "area_type": "fringe"}


def test_departments_are_added_changed_and_deactivated_with_their_rules(driver):
    admin, rt, session = driver.user("admin"), driver.rt, driver.session
    with pytest.raises(InputError) as caught:
        org.save_department(session, rt, admin, "hw-2", {"name": ""}, create=True)
    assert set(caught.value.errors) == {"code", "name"}
    with pytest.raises(InputError) as caught:
        org.save_department(session, rt, admin, "HW", {"active": False}, create=False)
    assert "default department" in caught.value.errors["active"][0]
    org.save_department(session, rt, admin, "WX", {"name": "区文旅局", "name_en": "Culture"}, create=True)
    org.save_department(session, rt, admin, "WX", {"active": False}, create=False)
    session.commit()
    assert [e.action for e in log(driver, "WX")] == ["create", "deactivate"]


def test_a_category_is_checked_against_the_decisions_as_the_import_checks_it(driver):
    admin, rt, session = driver.user("admin"), driver.rt, driver.session
    new = {"kind": "event", "major_code": "01", "major_name": "市容环境", "minor_code": "99", "name": "新小类",
           "emergency": False, "default_department": "HW"}
    with pytest.raises(InputError) as caught:
        org.save_category(session, rt, admin, "E0199", new, create=True)
    assert any("not named in decision" in m for m in caught.value.errors["code"])
    with pytest.raises(InputError) as caught:
        org.save_category(session, rt, admin, "E0102", {"active": False}, create=False)
    assert any("routing.dmn" in m or "sla.dmn" in m for m in caught.value.errors["active"])
    with pytest.raises(InputError) as caught:
        org.save_category(session, rt, admin, "E0102", {"major_name": "别的名字", "default_department": "XX"},
                          create=False)
    assert set(caught.value.errors) == {"major_name", "default_department"}
    org.save_category(session, rt, admin, "E0102", {"emergency": True, "name_en": "Garbage"}, create=False)
    session.commit()
    entry = log(driver, "E0102")[-1]
    assert entry.old == {"name_en": "Exposed garbage", "emergency": False}
    assert entry.new == {"name_en": "Garbage", "emergency": True}


def test_the_city_import_from_an_upload_dry_runs_refuses_and_applies(driver, settings, tmp_path):
    from pathlib import Path
    import io
    import zipfile

    admin, rt, session = driver.user("admin"), driver.rt, driver.session
    demo = Path("cities/demo")
    files = {p.name: p.read_bytes() for p in demo.iterdir() if p.is_file()}
    files["departments.csv"] = files["departments.csv"] + "WX,区文旅局,Culture,district\n".encode()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"city/{name}", data)
    read = city_files_from_upload([("city.zip", packed.getvalue())])
    assert set(read) == set(files)
    result, _ = import_uploaded_city(session, rt, admin, [("city.zip", packed.getvalue())], dry_run=True)
    assert result.changes == ["add department WX 区文旅局"]
    assert log(driver, "city") == []
    broken = dict(read, **{"memberships.csv": read["memberships.csv"] + b"clerk_dhm,grid_worker,110101001,\n"})
    with pytest.raises(CityError) as caught:
        import_uploaded_city(session, rt, admin, list(broken.items()), dry_run=False)
    assert any(p.file == "memberships.csv" and "cannot be held at a street" in p.rule for p in caught.value.problems)
    import_uploaded_city(session, rt, admin, list(read.items()), dry_run=False)
    session.commit()
    [entry] = log(driver, "city")
    assert entry.new["changes"] == ["add department WX 区文旅局"]
    with pytest.raises(InputError):
        city_files_from_upload([("notes.txt", b"hello")])


def test_a_set_password_link_works_once_for_its_user_and_expires(driver, clock):
    from datetime import timedelta

    from engine.admin import passwords

    admin, rt, session = driver.user("admin"), driver.rt, driver.session
    secret, expires = passwords.issue_password_link(session, rt, admin, "clerk_dhm")
    session.commit()
    assert passwords.link_holder(session, rt, secret).username == "clerk_dhm"
    assert sign_in(session, "clerk_dhm", "gridflow-demo") is not None  # until the link is used
    with pytest.raises(InputError) as caught:
        passwords.set_password_with_link(session, rt, secret, "short", "short")
    assert "password" in caught.value.errors
    with pytest.raises(InputError) as caught:
        passwords.set_password_with_link(session, rt, secret, "a-long-password", "another-password")
    assert "repeated" in caught.value.errors
    passwords.set_password_with_link(session, rt, secret, "a-long-password", "a-long-password")
    session.commit()
    assert sign_in(session, "clerk_dhm", "a-long-password") is not None
    assert sign_in(session, "clerk_dhm", "gridflow-demo") is None
    with pytest.raises(NotFound):
        passwords.set_password_with_link(session, rt, secret, "yet-another-one", "yet-another-one")
    assert [e.action for e in log(driver, "clerk_dhm")] == ["password_link", "set_password"]
    assert secret not in str([e.new for e in log(driver, "clerk_dhm")])
    late, _ = passwords.issue_password_link(session, rt, admin, "clerk_dhm")
    session.commit()
    clock.move_to(expires + timedelta(minutes=1))
    with pytest.raises(NotFound):
        passwords.link_holder(session, rt, late)
