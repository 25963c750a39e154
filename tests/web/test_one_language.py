"""One language per page: a Chinese page has no English word and an English page no Chinese one
(other than what people typed), error messages, notice badges and timeline values included."""
from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from engine.lifecycle.sweep import sweep
from models import Case, Notification, Task, User

from tests.timekeeping import WEDNESDAY_10
from tests.web.pages import csrf as csrf_of, sign_in, text

REPORT = {"category_code": "E0102", "grid_code": "110101001001001", "address": "南池子大街12号",
          "description": "路边堆放生活垃圾", "source": "hotline", "reporter_name": "王芳",
          "reporter_phone": "13900001111"}
SUPPLEMENT, COMMENT = "门牌号是12号", "没清干净"
TO_CLOSE = [("dispatch_dhm", {"level": "department", "department_code": "HW"}),
            ("handler_hw", {"sign_decision": "sign"}), ("handler_hw", {"action": "done"}),
            ("handler_hw", {"result": "已清运"}), ("clerk_dhm", {"satisfaction": "satisfied"}),
            ("grid_dhm_01", {"verify_result": "pass"}), ("leader_dhm", {})]
# Words a Chinese page may show in Latin letters: the product, the other language's switch, the
# API's own names on the landing page.
LATIN_OK = {"gridflow", "English", "JSON", "API", "Bearer", "USERNAME", "Open311", "MB", "PNG", "JPEG", "WEBP"}
WORD = re.compile(r"(?<![\w./:-])[A-Za-z]{3,}(?![\w./:-])")
CJK = re.compile(r"[\u3400-\u9fff\uff08\uff09\u3001\u3002\uff0c\uff1a]+")  # “” are English quotes too

pytestmark = pytest.mark.usefixtures("clock")


class _Visible(HTMLParser):
    """The text a reader sees: no scripts, styles, code samples or attribute values."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style", "code", "noscript", "time")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style", "code", "noscript", "time") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(response) -> str:
    parser = _Visible()
    parser.feed(text(response))
    return " ".join(parser.parts)


def english_words(page: str, typed: list[str]) -> list[str]:
    for value in typed:
        page = page.replace(value, " ")
    return [w for w in WORD.findall(page) if w not in LATIN_OK]


def chinese_words(page: str, typed: list[str]) -> list[str]:
    for value in sorted(typed, key=len, reverse=True):
        page = page.replace(value, " ")
    return [w for w in CJK.findall(page) if w != "中文"]  # the switch back names its language


def complete(client, token, code, user, data):
    headers = token(user)
    task = next(t for t in client.get("/api/v1/tasks", headers=headers).get_json()["items"] if t["case_code"] == code)
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers).status_code == 200


@pytest.fixture
def rated_case(app, client, token, demo_db, clock):
    """A hotline case whose reporter sent a supplement, then rated the closed case dissatisfied."""
    response = client.post("/api/v1/cases", json=REPORT, headers=token("clerk_dhm"))
    code, link = response.get_json()["code"], response.get_json()["tracking_url"].replace("http://localhost", "")
    complete(client, token, code, "clerk_dhm", {"decision": "supplement", "supplement_request": "请补充门牌号"})
    assert client.post(f"{link}/supplement", data={"text": SUPPLEMENT}).status_code == 303
    complete(client, token, code, "clerk_dhm", {"decision": "file"})
    for user, data in TO_CLOSE:
        complete(client, token, code, user, data)
    assert client.post(f"{link}/rating", json={"satisfaction": "dissatisfied", "comment": COMMENT}).status_code == 200
    # A second case left waiting at acceptance goes overdue: the clerk gets notices.
    second = client.post("/api/v1/cases", json=REPORT, headers=token("clerk_dhm")).get_json()["code"]
    clock.move_to(WEDNESDAY_10 + timedelta(days=3))
    sweep(app.extensions["gridflow.sessions"], app.extensions["gridflow.runtime"])
    with demo_db() as s:
        # Notice texts are stored as the process wrote them (processes/); the badge is the page's.
        stored = list(s.scalars(select(User.name))) + list(s.scalars(select(Notification.message)))
        task = s.scalar(select(Task.id).join(Case).where(Case.code == second, Task.bpmn_id == "accept"))
    return code, task, stored


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_word_of_a_page_is_in_its_language(app, rated_case, lang):
    code, accept_task, stored = rated_case
    typed = [*REPORT.values(), SUPPLEMENT, COMMENT, "请补充门牌号", "已清运", "堆放垃圾", *stored, code]
    home = app.test_client()
    home.post("/lang", data={"csrf_token": csrf_of(home.get("/login")), "lang": lang, "next": "/"})
    pages = {"/": home.get("/")}
    clerk = app.test_client()
    csrf = sign_in(clerk, "clerk_dhm")
    clerk.post("/lang", data={"csrf_token": csrf, "lang": lang, "next": "/inbox"})
    pages["/report (empty)"] = clerk.post("/report", data={"csrf_token": csrf})
    pages["/report (unknown codes)"] = clerk.post("/report", data={"csrf_token": csrf, "grid_code": "nope",
                                                                   "category_code": "nope", "description": "堆放垃圾"})
    pages["/tasks (empty)"] = clerk.post(f"/tasks/{accept_task}", data={"csrf_token": csrf})
    pages["/tasks (duplicate without original)"] = clerk.post(
        f"/tasks/{accept_task}", data={"csrf_token": csrf, "decision": "duplicate"})
    pages["/tasks (unknown choice)"] = clerk.post(f"/tasks/{accept_task}", data={"csrf_token": csrf, "decision": "x"})
    pages["/cases (bad filter)"] = clerk.get("/cases?created_from=soon&status=lost")
    pages["/report (outside every grid)"] = clerk.post("/report", data={
        "csrf_token": csrf, "category_code": "E0102", "lat": "31.2304", "lng": "121.4737", "description": "堆放垃圾"})
    pages["/report (point in another grid)"] = clerk.post("/report", data={
        "csrf_token": csrf, "category_code": "E0102", "grid_code": "110101001001001", "lat": "39.9119",
        "lng": "116.4017", "description": "堆放垃圾"})
    pages["/map (bad filter)"] = clerk.get("/map?flag=late&created_to=soon")
    pages["/cases/<code>"] = clerk.get(f"/cases/{code}")
    notices = clerk.get("/notifications")
    assert notices.status_code == 200 and 'class="tag overdue"' in text(notices)
    pages["/notifications"] = notices
    leaks = {}
    for name, response in pages.items():
        page = visible(response)
        found = english_words(page, typed) if lang == "zh" else chinese_words(page, typed)
        if found:
            leaks[name] = sorted(set(found))
    assert not leaks
    if lang == "zh":
        task_page = visible(pages["/tasks (duplicate without original)"])
        assert "受理决定为“重复件”时必填" in task_page  # the field and the choice by their labels
        assert "没有这个网格编号" in visible(pages["/report (unknown codes)"])
        assert "此项必填" in visible(pages["/tasks (empty)"])
        assert "不满意" in visible(pages["/cases/<code>"]) and "满意度" in visible(pages["/cases/<code>"])
    else:
        assert "Dissatisfied" in visible(pages["/cases/<code>"])
        assert "Unknown grid code." in visible(pages["/report (unknown codes)"])


def test_the_chosen_language_follows_the_user_to_another_browser(app):
    first = app.test_client()
    csrf = sign_in(first, "clerk_dhm")
    first.post("/lang", data={"csrf_token": csrf, "lang": "en", "next": "/inbox"})
    other = app.test_client()
    sign_in(other, "clerk_dhm")
    assert "Inbox" in text(other.get("/inbox"))
