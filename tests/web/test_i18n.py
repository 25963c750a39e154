"""Every text of the pages, and every error text of the engine the pages may show, has its Chinese
translation, and placeholders survive translation."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[2] / "web"
ENGINE = WEB.parent / "engine"
# %(name)s in page texts; {name} or {name:.1f} in the engine's Message templates.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)(?::[^}]*)?\}")


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
