"""The report page as an installable, offline-first app: its manifest and service worker, the session
check of its queue, and the report endpoint answering the queue as JSON with the same key rules as
the API (a repeat answers the first case, photos stored once; the key with another report is refused)."""
from __future__ import annotations

import io
import json
import re

from PIL import Image
from sqlalchemy import func, select

from models import Attachment, Case

from tests.photos import png
from tests.web.pages import csrf, sign_in, text

GRID = "110101001001001"
QUEUE = {"Accept": "application/json"}
REPORT = {"category_code": "E0102", "grid_code": GRID, "address": "南池子大街12号", "description": "地下室堆放杂物",
          "urgency": "normal", "coord_system": "wgs84"}


def queued(c, key: str | None, photos=(), headers=None, **fields):
    """POST /report as the page's queue does: multipart, JSON wanted, the key in the header."""
    data = {"csrf_token": c.csrf, **REPORT, **fields,
            "photos": [(io.BytesIO(p), f"photo{i}.png") for i, p in enumerate(photos)]}
    sent = {**QUEUE, **({"Idempotency-Key": key} if key else {}), **(headers or {})}
    return c.post("/report", data=data, headers=sent, content_type="multipart/form-data")


def counts(demo_db, description="地下室堆放杂物") -> tuple[int, int]:
    with demo_db() as session:
        cases = session.scalar(select(func.count()).select_from(Case).where(Case.description == description))
        photos = session.scalar(select(func.count()).select_from(Attachment).join(Case, Attachment.case_id == Case.id)
                                .where(Case.description == description))
    return cases, photos


def test_the_manifest_names_the_app_in_the_pages_language_and_its_icons_are_real_pngs(client):
    for lang, name in (("zh", "网格上报"), ("en", "gridflow reporting")):
        answer = client.get(f"/manifest.webmanifest?lang={lang}")
        assert answer.status_code == 200 and answer.mimetype == "application/manifest+json"
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
        manifest = json.loads(answer.data)
        assert manifest["name"] == name and manifest["lang"] == lang
        assert (manifest["start_url"], manifest["display"], manifest["scope"]) == ("/report", "standalone", "/")
    sizes = set()
    for icon in manifest["icons"]:
        picture = client.get(icon["src"])
        assert picture.status_code == 200 and picture.mimetype == "image/png" == icon["type"]
        width, height = Image.open(io.BytesIO(picture.data)).size
        assert f"{width}x{height}" == icon["sizes"]
        sizes.add((icon["sizes"], icon["purpose"]))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


def test_the_service_worker_is_script_from_the_root_and_keeps_only_the_page_and_its_files(client):
    answer = client.get("/sw.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    first, _, rest = text(answer).partition("\n")
    config = json.loads(re.fullmatch(r"var GRIDFLOW_OFFLINE = (.*);", first).group(1))
    assert config["shell"] == ["/report", "/places/area"]  # the worker's own page and grids, nothing else
    assert "/static/report-queue.js" in config["static"] and "/static/vendor/leaflet/leaflet.js" in config["static"]
    for path in config["static"]:
        assert client.get(path).status_code == 200, path
    assert not any(p.startswith("/api/") for p in config["shell"] + config["static"])
    assert 'request.method !== "GET"' in rest  # a POST (a report) is never answered from a cache
    assert client.get("/sw.js").data == answer.data  # one version while its files stay the same


def test_the_pages_of_someone_who_reports_link_the_manifest_and_have_no_inline_script(client_for):
    worker = client_for("grid_dhm_01")
    for path in ("/inbox", "/report"):
        page = text(worker.get(path))
        assert 'rel="manifest" href="/manifest.webmanifest?lang=zh"' in page
        assert 'name="gridflow-worker" content="/sw.js" data-scope="/report"' in page
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # the CSP forbids inline script
    report = text(worker.get("/report"))
    assert '<script src="/static/report-queue.js">' in report and 'id="queue-list"' in report
    handler = client_for("handler_hw")  # reports nothing: no app to install
    assert 'rel="manifest"' not in text(handler.get("/inbox"))


def test_the_queue_reads_who_is_signed_in_and_a_fresh_token_and_hears_when_nobody_is(client, client_for):
    worker = client_for("grid_dhm_01")
    answer = worker.get("/report/session", headers=QUEUE)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.get_json() == {"username": "grid_dhm_01", "csrf_token": worker.csrf}
    gone = client.get("/report/session", headers=QUEUE)
    assert gone.status_code == 401 and gone.get_json()["error"] == "signed_out"
    assert client.get("/report/session").status_code == 302  # a browser asking for a page: the sign-in page


def test_a_queued_report_sent_again_with_its_key_answers_the_first_case_and_stores_its_photos_once(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    photos = [png(colour=(200, 30, 30)), png(colour=(30, 200, 30))]
    first = queued(worker, "a3f1c2d4-0000-4000-8000-000000000001", photos)
    assert first.status_code == 201 and first.headers["Cache-Control"] == "no-store"
    code = first.get_json()["code"]
    assert first.get_json() == {"code": code, "url": f"/cases/{code}", "replayed": False}
    again = queued(worker, "a3f1c2d4-0000-4000-8000-000000000001", photos)  # the first answer was lost
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["code"] == code
    assert counts(demo_db) == (1, 2)
    # The key with another report (other words, or other photos) is refused, naming the key.
    other = queued(worker, "a3f1c2d4-0000-4000-8000-000000000001", photos, description="另一件事")
    assert other.status_code == 409 and "idempotency_key" in other.get_json()["errors"]
    fewer = queued(worker, "a3f1c2d4-0000-4000-8000-000000000001", photos[:1])
    assert fewer.status_code == 409
    assert counts(demo_db) == (1, 2) and counts(demo_db, "另一件事") == (0, 0)
    # The page's own key field is taken the same way; with the header it must agree.
    form_key = worker.post("/report", data={"csrf_token": worker.csrf, **REPORT, "idempotency_key": "form-key-0001"},
                           headers=QUEUE, content_type="multipart/form-data")
    assert form_key.status_code == 201
    both = queued(worker, "header-key-0001", idempotency_key="form-key-0001")
    assert both.status_code == 422 and "idempotency_key" in both.get_json()["errors"]


def test_a_refused_queued_report_names_its_fields_in_the_pages_language_and_writes_nothing(client_for, demo_db):
    worker = client_for("grid_dhm_01")
    refused = queued(worker, "b4e2d3c1-0000-4000-8000-000000000002", address="", description="")
    errors = refused.get_json()["errors"]
    assert refused.status_code == 422 and {"description", "address"} <= set(errors)
    assert errors["description"] == ["请描述发现的问题。"]
    not_a_photo = queued(worker, "b4e2d3c1-0000-4000-8000-000000000002", [png(), b"not a photo at all"])
    assert not_a_photo.status_code == 422 and list(not_a_photo.get_json()["errors"]) == ["photos"]
    assert counts(demo_db, "") == counts(demo_db) == (0, 0)  # no case, no photo: all or nothing
    short = queued(worker, "short")
    assert short.status_code == 422 and "Idempotency-Key" in short.get_json()["errors"]


def test_a_queued_report_while_signed_out_or_with_a_stale_token_is_told_so_as_json(app, client_for, demo_db):
    phone = app.test_client()
    phone.csrf = csrf(phone.get("/login"))
    signed_out = queued(phone, "c5f3e4d2-0000-4000-8000-000000000003")
    assert signed_out.status_code == 401 and signed_out.get_json()["error"] == "signed_out"
    worker = client_for("grid_dhm_01")
    worker.csrf = "an-older-sessions-token"
    stale = queued(worker, "c5f3e4d2-0000-4000-8000-000000000003")
    assert stale.status_code == 400 and stale.get_json()["error"] == "csrf"
    assert counts(demo_db) == (0, 0)
    plain = worker.post("/report", data={"csrf_token": "an-older-sessions-token", **REPORT})
    assert plain.status_code == 400 and "<html" in text(plain)  # the plain form still gets its page


def test_the_sign_in_page_tells_the_browser_to_forget_the_kept_report_page(client):
    assert '<meta name="gridflow-signed-out" content="true">' in text(client.get("/login"))
    sign_in(client, "grid_dhm_01")
    assert "gridflow-signed-out" not in text(client.get("/report"))


def test_a_residents_report_sent_as_json_carries_the_reporters_link_once(client_for):
    clerk = client_for("clerk_dhm")
    fields = {"source": "hotline", "reporter_phone": "13900001111", "description": "来电反映：地下室漏水"}
    first = queued(clerk, "d6a4f5e3-0000-4000-8000-000000000004", **fields)
    body = first.get_json()
    assert first.status_code == 201 and f"/track/{body['code']}/" in body["tracking_url"]
    assert body["tracking_url"] in body["sms"] and body["code"] in body["sms"]
    again = queued(clerk, "d6a4f5e3-0000-4000-8000-000000000004", **fields)
    assert again.status_code == 200 and "tracking_url" not in again.get_json()  # the secret is shown once
