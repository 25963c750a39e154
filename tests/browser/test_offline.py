"""Reporting without a connection in Chromium: the report page opens from the service worker's cache,
two reports with a photo each wait on the phone, and once the connection returns exactly two cases
exist with their photos; a report sent again with its key gets its first case back."""
from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from models import Attachment, Case
from tests.browser.conftest import PHONE
from tests.web.pages import sign_in

GRID = "110101001001001"
FINDS = ("地下室积水，约十平方米", "楼道堆放杂物，堵塞通道")


def photo(name: str, colour) -> dict:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def cases_with_photos(app) -> dict[str, list[str]]:
    with app.extensions["gridflow.sessions"]() as session:
        rows = session.execute(select(Case.code, Case.description).where(Case.description.in_(FINDS))).all()
        return {code: [description, *session.scalars(select(Attachment.filename).join(Case, Attachment.case_id == Case.id)
                                                     .where(Case.code == code))] for code, description in rows}


def in_charge(page) -> None:
    """Wait until the service worker is installed and controls the page (wait_for_function would
    poll by eval, which the pages' Content-Security-Policy forbids)."""
    assert page.evaluate("""() => navigator.serviceWorker.ready.then(() => navigator.serviceWorker.controller ? true :
        new Promise(done => navigator.serviceWorker.addEventListener("controllerchange", () => done(true))))""")


def report(worker, description: str, picture: dict) -> None:
    worker.fill("#category-search", "垃圾")
    worker.get_by_label("E0102 暴露垃圾").check()
    worker.fill("#in-address", "南池子大街12号地下室")
    worker.fill("#in-description", description)
    worker.set_input_files("#in-photos", picture)
    worker.get_by_role("button", name="上报", exact=True).click()


def test_reports_made_offline_wait_on_the_phone_and_are_sent_once_when_the_connection_returns(pages, live_server):
    app = live_server.app
    worker = pages.open("grid_dhm_01", viewport=PHONE)
    worker.goto("/report")
    in_charge(worker)
    worker.context.set_offline(True)
    worker.reload()  # no network: the page comes from the phone
    expect(worker.locator("h1")).to_have_text("上报案件")
    expect(worker.locator("#in-grid")).to_have_value(GRID)
    expect(worker.locator("#queue-banner")).to_contain_text("没有网络")

    pictures = (photo("water.png", (40, 90, 160)), photo("stairs.png", (160, 120, 40)))
    for n, (description, picture) in enumerate(zip(FINDS, pictures), start=1):
        report(worker, description, picture)
        expect(worker.locator("#queue-list > li")).to_have_count(n)
        expect(worker.locator("#in-description")).to_have_value("")  # the form is free for the next one
    expect(worker.locator("#queue-list > li[data-status=queued]")).to_have_count(2)
    expect(worker.locator("#queue-list > li").first).to_contain_text("1 张照片")
    expect(worker.locator("#queue-banner")).to_contain_text("已保存在本手机上")
    pages.shot(worker, "offline-queued")
    assert cases_with_photos(app) == {}  # nothing reached the server

    worker.context.set_offline(False)  # the browser's online event sends the queue, in order
    sent = worker.locator("#queue-list > li[data-status=sent]")
    expect(sent).to_have_count(2)
    expect(worker.locator("#queue-banner")).to_be_hidden()
    pages.shot(worker, "online-sent")
    shown = {li.locator("a.case-code").inner_text(): li for li in sent.all()}
    made = cases_with_photos(app)
    assert sorted(made.values()) == sorted([[FINDS[0], "water.png"], [FINDS[1], "stairs.png"]])
    assert set(shown) == set(made)  # each report shows its own case's code, linked
    for code, li in shown.items():
        expect(li.locator("a.case-code")).to_have_attribute("href", f"/cases/{code}")

    # The first report sent again with its key (an answer lost on the way back) is its first case.
    first = worker.locator("#queue-list > li").last  # newest first: the last one listed came first
    key = first.get_attribute("data-key")
    fields = worker.evaluate("""key => new Promise((done, failed) => {
        const open = indexedDB.open("gridflow-reports");
        open.onsuccess = () => {
          const get = open.result.transaction("reports").objectStore("reports").get(key);
          get.onsuccess = () => done(get.result.fields);
          get.onerror = failed;
        };
      })""", key)
    client = app.test_client()
    csrf = sign_in(client, "grid_dhm_01")
    data = {**dict(fields), "csrf_token": csrf, "photos": (io.BytesIO(pictures[0]["buffer"]), "water.png")}
    again = client.post("/report", data=data, content_type="multipart/form-data",
                        headers={"Accept": "application/json", "Idempotency-Key": key})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["code"] == first.locator("a.case-code").inner_text()
    assert cases_with_photos(app) == made  # still two cases, one photo each

    # Chromium logs the page's requests that failed while offline: that is what this test made happen.
    pages.problems[:] = [p for p in pages.problems if "ERR_INTERNET_DISCONNECTED" not in p]


def test_a_report_refused_when_sent_is_kept_with_the_reason_to_correct_and_signing_out_keeps_the_queue(pages,
                                                                                                     live_server):
    worker = pages.open("grid_dhm_01", viewport=PHONE)
    worker.goto("/report")
    in_charge(worker)
    worker.context.set_offline(True)
    worker.fill("#category-search", "垃圾")
    worker.get_by_label("E0102 暴露垃圾").check()
    worker.fill("#in-description", "没写地址的报告")  # neither address nor point: the server refuses it
    worker.get_by_role("button", name="上报", exact=True).click()
    expect(worker.locator("#queue-list > li[data-status=queued]")).to_have_count(1)

    # Signed out (elsewhere) meanwhile: the page says so and keeps the report.
    client = live_server.app.test_client()
    csrf = sign_in(client, "grid_dhm_01")
    client.post("/logout/everywhere", data={"csrf_token": csrf})
    worker.context.set_offline(False)
    expect(worker.locator("#queue-banner")).to_contain_text("您已退出登录：本手机上有 1 条报告待发送")
    expect(worker.locator("#queue-list > li[data-status=queued]")).to_have_count(1)
    assert worker.evaluate("caches.has('gridflow-shell')")  # the page kept for offline use
    worker.locator("#queue-banner a").click()
    assert worker.evaluate("""() => new Promise(done => {  // signed out: the kept page is forgotten
        const check = () => caches.has("gridflow-shell").then(kept => kept ? setTimeout(check, 20) : done(true));
        check();
      })""")
    worker.fill("input[name=username]", "grid_dhm_01")
    worker.fill("input[name=password]", "gridflow-demo")
    worker.click("form button.primary")
    worker.wait_for_url(re.compile(r"/report$"))
    assert worker.evaluate("indexedDB.databases().then(all => all.map(d => d.name))") == ["gridflow-reports"]

    refused = worker.locator("#queue-list > li[data-status=refused]")
    expect(refused).to_have_count(1)
    expect(refused.locator(".reasons")).to_contain_text("地址")
    pages.shot(worker, "refused")
    refused.get_by_role("button", name="修改").click()  # back into the form, the reason beside its field
    expect(worker.locator("#in-description")).to_have_value("没写地址的报告")
    expect(worker.locator(".field-error")).to_contain_text("地址")
    expect(worker.locator("#queue-list > li")).to_have_count(0)
    worker.fill("#in-address", "南池子大街12号")
    worker.get_by_role("button", name="上报", exact=True).click()  # online: sent at once, the case opens
    worker.wait_for_url(re.compile(r"/cases/GF\d+$"))
    expect(worker.locator(".flash.success")).to_contain_text("GF")
    # The server's 422 and the requests that failed offline are what this test made happen.
    pages.problems[:] = [p for p in pages.problems
                         if "ERR_INTERNET_DISCONNECTED" not in p and not re.search(r"\b(401|422)\b", p)]
