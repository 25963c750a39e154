"""The studio's migration page: a dry run per case, the move, and its undo."""
from __future__ import annotations

import re

from engine.process import deploy as process_service

from tests.engine.conftest import Driver, renamed
from tests.web.pages import sign_in, text


def _two_versions(demo_db, settings):
    """An open case at 签收 on version 1; version 2 renames 签收's id to sign_receipt."""
    driver = Driver(demo_db, settings)
    case = driver.report()
    driver.do(case, "accept", "clerk_dhm", decision="file")
    driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
    files = process_service.read_files([settings["PROCESSES_DIR"]])
    process_service.deploy(driver.session, driver.rt, renamed(files, "sign_for", "sign_receipt"), "grid_case")
    driver.session.commit()
    code = case.code
    driver.close()
    return code


def test_the_dry_run_says_why_a_case_stays_and_a_mapping_lets_it_move(client, demo_db, settings):
    code = _two_versions(demo_db, settings)
    token = sign_in(client, "designer")
    assert 'id="migrate-link"' in text(client.get("/studio"))
    page = text(client.get("/studio/migrate?from=1&to=2"))
    assert "0 件可迁移，1 件保留" in page and f'data-case="{code}"' in page
    assert "它停在 sign_for，而版本 2 没有该环节" in page and 'id="migrate"' not in page
    mapped = text(client.get("/studio/migrate?from=1&to=2&map=sign_for+%3D+sign_receipt"))
    assert "1 件可迁移，0 件保留" in mapped and 'id="migrate"' in mapped
    client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/studio"})
    english = text(client.get("/studio/migrate?from=1&to=2"))
    assert "0 can move, 1 stay" in english and "it waits in sign_for, which version 2 does not have" in english


def test_moving_and_undoing_from_the_page(client, demo_db, settings):
    code = _two_versions(demo_db, settings)
    token = sign_in(client, "designer")
    moved = client.post("/studio/migrate", data={"from": "1", "to": "2", "map": "sign_for=sign_receipt",
                                                 "csrf_token": token}, follow_redirects=True)
    page = text(moved)
    assert "1 件案件已迁移到版本 2，0 件保留。" in page
    assert "0 件可迁移，0 件保留" in page          # nothing is left on version 1
    run = re.search(r'name="run" value="([0-9a-f]+)"', page).group(1)
    undone = text(client.post("/studio/migrate/undo", data={"run": run, "csrf_token": token}, follow_redirects=True))
    assert "1 件案件已回到原版本，0 件已在新版本上办理，未撤销。" in undone
    assert "1 件已撤销" in undone
    assert code in text(client.get("/studio/v/1"))


def test_a_malformed_mapping_is_named_and_nothing_moves(client, demo_db, settings):
    _two_versions(demo_db, settings)
    token = sign_in(client, "designer")
    response = client.post("/studio/migrate", data={"from": "1", "to": "2", "map": "sign_for", "csrf_token": token},
                           follow_redirects=True)
    assert "第 1 行：请写成 旧任务编号 = 新任务编号。" in text(response)
    assert response.status_code == 200
    refused = client.post("/studio/migrate", data={"from": "1", "to": "2", "map": "sign_for=nowhere",
                                                   "csrf_token": token}, follow_redirects=True)
    assert "版本 2 没有任务 nowhere" in text(refused)
    sign_in(client, "dispatch_dhm")
    assert client.get("/studio/migrate").status_code == 403
