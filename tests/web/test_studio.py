"""The designer studio's pages: versions with who, when, hash, note and their cases; the
difference between two versions in words and rows; downloads; drafts saved, checked on the
server with the problems pinned to elements, and deployed with a note."""
from __future__ import annotations

import io
import re
import zipfile

from sqlalchemy import select

from engine.lifecycle import cases as case_service
from models import ProcessVersion, User

from tests.web.pages import sign_in, text


def _draft(client, token, version=1) -> int:
    response = client.post("/studio/drafts", data={"version": str(version), "csrf_token": token})
    assert response.status_code == 302, text(response)[:300]
    return int(re.search(r"/studio/drafts/(\d+)", response.headers["Location"]).group(1))


def _files(client, draft_id) -> dict:
    return client.get(f"/studio/drafts/{draft_id}/files").get_json()["files"]


def _edit(client, token, draft_id, **changes) -> dict:
    """Save the draft with each named file's text changed: file=(old, new); return the files."""
    files = _files(client, draft_id)
    for key, (old, new) in changes.items():
        name = ".".join(key.rsplit("_", 1))   # routing_dmn → routing.dmn
        files[name] = files[name].replace(old, new, 1)
    response = client.post(f"/studio/drafts/{draft_id}/files", json={"files": files}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    return files


def test_only_designers_and_admins_reach_the_studio(client):
    sign_in(client, "dispatch_dhm")
    assert client.get("/studio").status_code == 403
    assert 'href="/studio"' not in text(client.get("/inbox"))
    client.get("/logout")
    sign_in(client, "designer")
    page = text(client.get("/studio"))
    assert '<tr data-version="1">' in page and 'href="/studio"' in page


def test_the_version_list_shows_who_when_hash_note_and_cases(client, app, demo_db):
    sign_in(client, "designer")
    with demo_db() as session:
        v1 = session.scalars(select(ProcessVersion)).one()
        page = text(client.get("/studio"))
        assert v1.content_hash[:12] in page
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    _edit(client, token, draft, routing_dmn=("私搭乱建：派遣区城管执法局", "私搭乱建：派遣城管"))
    response = client.post(f"/studio/drafts/{draft}/deploy", data={"note": "违建描述改短", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/studio/v/2")
    page = text(client.get("/studio"))
    assert "违建描述改短" in page and "designer" in page
    row = re.search(r'<tr data-version="2">.*?</tr>', page, re.S).group(0)
    assert 'class="open-cases"><a href="/studio/v/2">0</a>' in row


def _report(app, demo_db) -> str:
    rt = app.extensions["gridflow.runtime"]
    with demo_db() as session:
        worker = session.scalars(select(User).where(User.username == "grid_dhm_01")).one()
        case = case_service.report_case(session, rt, worker, {
            "category_code": "E0102", "grid_code": "110101001001001", "address": "南池子大街12号",
            "description": "路边堆放生活垃圾", "source": "patrol"})
        session.commit()
        return case.code


def test_running_cases_stay_on_their_version_and_new_ones_start_on_the_new_one(client, app, demo_db):
    first = _report(app, demo_db)
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    _edit(client, token, draft, sla_dmn=("处置时限", "处置时限表"))
    client.post(f"/studio/drafts/{draft}/deploy", data={"note": "rename", "csrf_token": token})
    second = _report(app, demo_db)
    v1, v2 = text(client.get("/studio/v/1")), text(client.get("/studio/v/2"))
    assert first in v1 and second not in v1
    assert second in v2 and first not in v2
    page = text(client.get("/studio"))
    for version in (1, 2):
        row = re.search(rf'<tr data-version="{version}">.*?</tr>', page, re.S).group(0)
        assert f'class="open-cases"><a href="/studio/v/{version}">1</a>' in row


def test_the_diff_names_the_changed_rule_as_rows_and_the_changed_task(client):
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    _edit(client, token, draft, routing_dmn=('<text>"CG"</text>', '<text>"HW"</text>'),
          grid_case_bpmn=('name="派遣"', 'name="派遣任务"'))
    client.post(f"/studio/drafts/{draft}/deploy", data={"note": "CG → HW", "csrf_token": token})
    page = text(client.get("/studio/diff?a=1&b=2"))
    assert 'data-element="dispatch"' in page and "派遣任务" in page
    changed = re.search(r'<tr class="rule changed after">(.*?)</tr>', page, re.S).group(1)
    assert '<td class="differs">&#34;HW&#34;</td>' in changed or '<td class="differs">"HW"</td>' in changed


def test_download_gives_the_versions_files(client):
    sign_in(client, "designer")
    response = client.get("/studio/v/1/files.zip")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert {"grid_case.bpmn", "routing.dmn", "sla.dmn", "policy.toml"} <= set(names)


def test_check_pins_a_problem_to_its_element_and_deploy_refuses_it(client):
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    _edit(client, token, draft, grid_case_bpmn=('<camunda:property name="stage" value="dispatch" />',
                                                '<camunda:property name="stage" value="dispatching" />'))
    report = client.post(f"/studio/drafts/{draft}/check", headers={"X-CSRFToken": token}).get_json()
    pinned = [p for p in report["problems"] if "dispatching" in p["text"]]
    assert pinned and pinned[0]["element"] == "dispatch" and pinned[0]["file"] == "grid_case.bpmn"
    response = client.post(f"/studio/drafts/{draft}/deploy", data={"note": "x", "csrf_token": token},
                           follow_redirects=True)
    assert "dispatching" in text(response)
    assert '<tr data-version="2">' not in text(client.get("/studio"))


def test_a_broken_file_is_not_saved(client):
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    response = client.post(f"/studio/drafts/{draft}/files", json={"files": {"sla.dmn": "<definitions"}},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 422 and "sla.dmn" in response.get_json()["errors"]
    assert _files(client, draft)["sla.dmn"].startswith("<?xml")
    forged = client.post(f"/studio/drafts/{draft}/files", json={"files": {"sla.dmn": "<definitions/>"}})
    assert forged.status_code == 400 and _files(client, draft)["sla.dmn"].startswith("<?xml")  # no CSRF token


def test_a_draft_behind_the_current_version_says_so_and_needs_a_confirmation(client):
    token = sign_in(client, "designer")
    old, new = _draft(client, token), _draft(client, token)
    _edit(client, token, new, sla_dmn=("处置时限", "处置时限表"))
    client.post(f"/studio/drafts/{new}/deploy", data={"note": "rename", "csrf_token": token})
    page = text(client.get(f"/studio/drafts/{old}"))
    assert 'class="flash error behind"' in page and "v1" in page and "v2" in page
    _edit(client, token, old, routing_dmn=("分流规则", "分流"))
    refused = client.post(f"/studio/drafts/{old}/deploy", data={"note": "mine", "csrf_token": token},
                          follow_redirects=True)
    assert '<tr data-version="3">' not in text(client.get("/studio"))
    assert 'class="flash error"' in text(refused)
    client.post(f"/studio/drafts/{old}/deploy", data={"note": "mine", "behind_seen": "yes", "csrf_token": token})
    assert '<tr data-version="3">' in text(client.get("/studio"))
