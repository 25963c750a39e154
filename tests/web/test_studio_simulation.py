"""The studio's impact simulation: a designer simulates a saved draft from its page, the result page
shows the routing, deadline and flow tables in Chinese and English, every figure opens its cases,
a JSON view sits beside it; only process designers and admins reach any of it."""
from __future__ import annotations

import re

from tests.engine.conftest import GARBAGE, ILLEGAL_BUILD, Driver
from tests.web.pages import sign_in, text
from tests.web.test_studio import _draft, _edit


def _cases(demo_db, settings):
    """A dispatched 私搭乱建 case (to 城管), a dispatched 暴露垃圾 one (to 环卫) and one not yet dispatched."""
    driver = Driver(demo_db, settings)
    codes = []
    for category, department in ((ILLEGAL_BUILD, "CG"), (GARBAGE, "HW"), (ILLEGAL_BUILD, None)):
        case = driver.report(category_code=category)
        if department:
            driver.do(case, "accept", "clerk_dhm", decision="file")
            driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code=department)
        codes.append(case.code)
    driver.close()
    return codes


def _simulate(client, token, draft, days="30"):
    response = client.post(f"/studio/drafts/{draft}/simulate", data={"days": days, "csrf_token": token})
    assert response.status_code == 302, text(response)[:300]
    return response.headers["Location"]


def test_a_designer_simulates_a_draft_and_every_figure_opens_its_cases(client, demo_db, settings):
    moved, kept, waiting = _cases(demo_db, settings)
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    assert 'id="simulate"' in text(client.get(f"/studio/drafts/{draft}"))
    _edit(client, token, draft, routing_dmn=('"CG"', '"HW"'))
    location = _simulate(client, token, draft)
    run = int(re.search(r"/studio/simulations/(\d+)$", location).group(1))

    page = text(client.get(location))
    assert "影响模拟" in page and "草稿会改变责任部门的已派遣案件" in page
    changed = re.search(r'id="department-changes">.*?<a class="figure" href="([^"]+)">(\d+)</a>', page, re.S)
    assert changed.group(2) == "1"
    assert 'data-route="CG&gt;HW"' in page or 'data-route="CG>HW"' in page
    listed = text(client.get(changed.group(1).replace("&amp;", "&")))
    assert f'data-case="{moved}"' in listed and kept not in listed and waiting not in listed
    # Every number on the page is a link to the cases it counts, and each link's list has that many.
    for href, n in re.findall(r'<a class="figure" href="([^"]+)">(\d+)</a>', page):
        listed = text(client.get(href.replace("&amp;", "&")))
        assert len(re.findall(r'<tr data-case=', listed)) == int(n), href
    not_yet = text(client.get(f"/studio/simulations/{run}/cases?dispatched=no"))
    assert f'data-case="{waiting}"' in not_yet and moved not in not_yet

    summary = client.get(f"/studio/simulations/{run}.json").get_json()
    assert (summary["department_changes"], summary["cases_replayed"], summary["not_dispatched"]) == (1, 3, 1)
    assert f"/studio/simulations/{run}" in text(client.get(f"/studio/drafts/{draft}"))   # the draft lists its runs

    client.post("/lang", data={"csrf_token": token, "lang": "en", "next": "/studio"})
    english = text(client.get(location))
    assert "Impact simulation" in english and "Dispatched cases whose department the draft would change" in english
    assert "Routing" in english and "Time limits" in english and "Paths the cases take" in english


def test_a_broken_draft_is_refused_on_its_page_and_a_bad_figure_named(client, demo_db, settings):
    _cases(demo_db, settings)
    token = sign_in(client, "designer")
    draft = _draft(client, token)
    _edit(client, token, draft, grid_case_bpmn=(">resident_report<", ">resident_reprot<"))
    response = client.post(f"/studio/drafts/{draft}/simulate", data={"days": "30", "csrf_token": token},
                           follow_redirects=True)
    page = text(response)
    assert "草稿无法模拟" in page and "resident_reprot" in page
    assert client.post(f"/studio/drafts/{draft}/simulate", data={"days": "11", "csrf_token": token},
                       follow_redirects=True).status_code == 200
    good = _draft(client, token)
    run = re.search(r"(\d+)$", _simulate(client, token, good)).group(1)
    bad = client.get(f"/studio/simulations/{run}/cases?flow=sideways")
    assert bad.status_code == 422 and "flow" in bad.get_json()["errors"]
    assert client.get("/studio/simulations/999999").status_code == 404


def test_only_designers_and_admins_simulate(client, demo_db, settings):
    _cases(demo_db, settings)
    token = sign_in(client, "designer")
    run = re.search(r"(\d+)$", _simulate(client, token, _draft(client, token))).group(1)
    client.get("/logout")
    token = sign_in(client, "dispatch_dhm")
    assert client.get(f"/studio/simulations/{run}").status_code == 403
    assert client.get(f"/studio/simulations/{run}.json").status_code == 403
    assert client.get(f"/studio/simulations/{run}/cases").status_code == 403
    assert client.post("/studio/drafts/1/simulate", data={"days": "30", "csrf_token": token}).status_code == 403
    client.get("/logout")
    sign_in(client, "admin")
    assert client.get(f"/studio/simulations/{run}").status_code == 200
