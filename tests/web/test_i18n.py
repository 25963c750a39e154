"""Every text of the pages, and every error text of the engine the pages may show, has its Chinese
translation, placeholders survive translation, and a signed-in user sees every page in the language
they chose, process texts included."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.web.pages import sign_in, text

WEB = Path(__file__).resolve().parents[2] / "web"
ENGINE = WEB.parent / "engine"
# %(name)s in page texts; {name} or {name:.1f} in the engine's Message templates.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)(?::[^}]*)?\}")
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
GRID = "110101001001001"


def test_every_page_text_is_translated_to_chinese():
    methods = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "l_": None, "lazy_gettext": None}
    found = {msg for _f, _l, msg, _c, _x in extract_from_dir(str(WEB), methods, keywords=keywords,
                                                                 options_map={"templates/**.html": {"extensions": "jinja2.ext.do"}})}
    found |= {msg for _f, _l, msg, _c, _x in extract_from_dir(str(ENGINE), [("**.py", "python")],
                                                                  keywords={"Message": None})}
    with open(WEB / "translations" / "zh" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id and m.string and all(m.string) and not m.fuzzy}
    missing = sorted(m for m in found if m not in translated)
    assert not missing, f"run `make messages` and translate: {missing}"
    for msgid, text in translated.items():
        # A plural entry is a tuple of forms; each form keeps the placeholders of the English.
        wanted = set(PLACEHOLDER.findall(" ".join(msgid) if isinstance(msgid, tuple) else msgid))
        for form in (text if isinstance(text, tuple) else (text,)):
            assert set(PLACEHOLDER.findall(form)) == wanted, msgid


class Chrome(HTMLParser):
    """Collect the texts of a page's headings, navigation, buttons, labels and table heads."""

    TAGS = {"h1", "h2", "h3", "nav", "button", "label", "legend", "th", "option"}

    def __init__(self, page: str):
        super().__init__()
        self.open: list[list[str]] = []
        self.texts: list[tuple[str, str]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag in self.TAGS:
            self.open.append([tag, ""])

    def handle_endtag(self, tag):
        if self.open and self.open[-1][0] == tag:
            name, content = self.open.pop()
            if content.split():
                self.texts.append((name, " ".join(content.split())))

    def handle_data(self, data):
        for element in self.open:
            element[1] += data


# The language switch names the other language in that language; everything else follows the choice.
SWITCH = {"en": "中文", "zh": "English"}
# What each language shows for the same things: a task of the process (its diagram's name),
# a form field and a choice of it, a stage, the navigation and a button.
SAME_THINGS = {
    "en": ["Accept and file", "Decision", "File", "Acceptance", "Inbox", "Sign out", "Claim"],
    "zh": ["受理立案", "受理决定", "立案", "受理", "待办", "退出", "认领"],
}
ROLE_PAGES = {
    "grid_dhm_01": ["/inbox", "/report", "/cases", "/notifications"],
    "clerk_dhm": ["/inbox", "/report", "/cases"],
    "leader_dhm": ["/inbox?team=1", "/board", "/cases", "/assessment", "/assessment?by=person",
                   "/assessment/cases?by=street&indicator=closing_rate", "/map"],
    "dispatch_dhm": ["/inbox", "/cases"],
    "handler_hw": ["/inbox", "/cases", "/assessment?by=department"],
    "super_district": ["/board", "/inbox", "/cases", "/assessment?by=category", "/map"],
    "admin": ["/inbox", "/report", "/board", "/cases", "/admin/users", "/admin/users/new", "/admin/users/clerk_dhm",
              "/admin/units", "/admin/departments", "/admin/categories", "/admin/import", "/admin/history"],
}


def signed_in(app, username: str, lang: str):
    client = app.test_client()
    client.csrf = sign_in(client, username)
    client.post("/lang", data={"csrf_token": client.csrf, "lang": lang, "next": "/inbox"})
    return client


def check_language(page: str, lang: str, where) -> None:
    """Fail unless every heading, button, label and table head of ``page`` is in ``lang``."""
    for tag, content in Chrome(page).texts:
        if content == SWITCH[lang]:
            continue
        if lang == "en":
            assert not CJK.search(content), (where, tag, content)
        elif re.search(r"[A-Za-z]{3}", content) and tag not in ("option", "label"):
            # Chinese chrome may carry codes (GF…, grid_case v1) but not untranslated words.
            assert CJK.search(content), (where, tag, content)


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_role_page_is_in_the_chosen_language(app, lang):
    for username, urls in ROLE_PAGES.items():
        client = signed_in(app, username, lang)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (username, url)
            check_language(text(response), lang, (username, url))


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("lang, other", [("en", "zh"), ("zh", "en")])
def test_a_case_and_its_task_read_in_the_chosen_language(app, demo_db, lang, other):
    worker = signed_in(app, "grid_dhm_01", "zh")
    reported = worker.post("/report", content_type="multipart/form-data", data={
        "csrf_token": worker.csrf, "category_code": "E0102", "grid_code": GRID, "address": "南池子大街12号",
        "description": "路边堆放生活垃圾", "urgency": "normal"})
    assert reported.status_code == 302, text(reported)[-2000:]
    code = reported.headers["Location"].rsplit("/", 1)[-1]
    clerk = signed_in(app, "clerk_dhm", lang)
    inbox = text(clerk.get("/inbox"))
    task_url = re.search(r'href="(/tasks/\d+)"', inbox).group(1)
    pages = {"/inbox": inbox, task_url: text(clerk.get(task_url)), f"/cases/{code}": text(clerk.get(f"/cases/{code}"))}
    for url, page in pages.items():
        check_language(page, lang, url)
    shown = " ".join(pages.values())
    chrome = " ".join(content for page in pages.values() for _tag, content in Chrome(page).texts)
    for wanted, unwanted in zip(SAME_THINGS[lang], SAME_THINGS[other]):
        assert wanted in shown, wanted
        if lang == "zh" or not CJK.search(unwanted):
            assert unwanted not in chrome, unwanted
        else:
            assert unwanted not in chrome.replace(SWITCH[lang], ""), unwanted
