"""The assessment page: ranking with grades, charts' data, drill-down, exports, languages, scope."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from tests.web.pages import sign_in, text
from tests.web.test_api_assessment import filed_and_dispatched

pytestmark = pytest.mark.usefixtures("clock")


def test_a_shift_leader_reads_the_ranking_and_opens_the_cases_behind_a_figure(client, token):
    codes = filed_and_dispatched(client, token)
    sign_in(client, "leader_dhm")
    page = text(client.get("/assessment?month=2026-11&by=street"))
    assert "东华门街道" in page and "立案率" in page and 'id="two-way-scores"' in page
    row = re.search(r'<tr data-key="110101001">.*?</tr>', page, re.S).group(0)
    assert "66.67 %" in row                                         # filing rate 2 of 3
    link = unescape(re.search(r'href="([^"]*indicator=filed[^"]*)"', row).group(1))
    behind = text(client.get(link))
    assert sorted(re.findall(r">(GF\d+)</a>", behind)) == sorted(codes[:2])
    reasons = re.search(r'<section class="card breakdown" id="breakdown-cancelled">.*?</section>', page, re.S).group(0)
    assert "注销原因" in reasons and "无效信息" in reasons              # the form's choice names the reason
    link = unescape(re.search(r'href="([^"]*detail=invalid[^"]*)"', reasons).group(1))
    assert re.findall(r">(GF\d+)</a>", text(client.get(link))) == [codes[2]]
    assert 'role="alert"' in text(client.get("/assessment/cases?month=2026-11&indicator=filed&detail=invalid"))
    trend = json.loads(unescape(re.search(r'data-chart-data="([^"]*)"', page).group(1)))
    assert trend["months"][-1] == "2026-11" and len(trend["months"]) == 12
    assert 'href="/assessment"' in text(client.get("/inbox"))       # in the menu


def test_the_page_in_english_and_the_exports(client, token):
    filed_and_dispatched(client, token)
    token_ = sign_in(client, "leader_dhm")
    client.post("/lang", data={"lang": "en", "csrf_token": token_})
    page = text(client.get("/assessment?month=2026-11&by=department"))
    assert "Filing rate" in page and "Ranking by Department" in page
    xlsx = client.get("/assessment/export.xlsx?month=2026-11&by=street")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/assessment/export.csv?month=2026-11").mimetype == "text/csv"
    assert client.get("/assessment/export.pdf").status_code == 404


def test_people_without_a_reading_role_are_refused_and_bad_periods_explained(client, token):
    token_ = sign_in(client, "clerk_dhm")
    assert client.get("/assessment").status_code == 403
    assert 'href="/assessment"' not in text(client.get("/inbox"))
    client.post("/logout", data={"csrf_token": token_})
    sign_in(client, "leader_dhm")
    page = client.get("/assessment?month=2026-13")
    assert page.status_code == 200 and "2026-11" in text(page)      # this month, with the error shown
    assert 'role="alert"' in text(page)
