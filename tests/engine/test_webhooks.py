"""Outbound webhooks: signed JSON POSTs to a receiver on 127.0.0.1, retried with back-off."""
from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from engine.scheduler import drain
from engine.outbound.webhooks import deliver_due, signature
from models import WebhookDelivery

SH = ZoneInfo("Asia/Shanghai")
SECRET = "s3cret"


class Receiver:
    """A tiny HTTP receiver that records requests and answers with a chosen status."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        self.during_post = None  # called while the request is being answered
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                if outer.during_post is not None:
                    outer.during_post()
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def overdue_case(driver, receiver):
    driver.rt.settings["WEBHOOKS"] = [{"url": receiver.url, "secret": SECRET, "events": ["warning", "overdue"]}]
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=SH), tick=False) as clock:
        case = driver.report()
        driver.do(case, "accept", "clerk_dhm", decision="file")
        driver.do(case, "dispatch", "dispatch_dhm", level="department", department_code="HW")
        driver.do(case, "sign_for", "handler_hw", sign_decision="sign")
        clock.move_to(datetime(2026, 11, 25, 14, 43, tzinfo=SH))
        drain(driver.sessions, driver.rt)
        yield case, clock


def deliveries(driver):
    driver.session.expire_all()
    return driver.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def test_a_warning_is_posted_signed_to_the_receiver(driver, receiver, overdue_case):
    case, _ = overdue_case
    assert deliver_due(driver.sessions, driver.rt) == 1
    headers, body = receiver.requests[0]
    assert headers["X-Gridflow-Signature"] == signature(SECRET, body)
    assert headers["X-Gridflow-Event"] == "warning"
    payload = json.loads(body)
    assert payload["event"] == "warning" and payload["case"]["code"] == case.code
    assert payload["case"]["stage"] == "handle" and payload["data"]["stage"] == "handle"
    [row] = deliveries(driver)
    assert (row.status, row.attempts) == ("delivered", 1)
    assert deliver_due(driver.sessions, driver.rt) == 0  # delivered once


def test_a_failing_receiver_is_retried_with_back_off_then_given_up(driver, receiver, overdue_case):
    _, clock = overdue_case
    driver.rt.settings["WEBHOOK_MAX_ATTEMPTS"] = 3
    receiver.status = 500
    assert deliver_due(driver.sessions, driver.rt) == 0
    [row] = deliveries(driver)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 500")
    first_retry = row.next_attempt_at
    assert deliver_due(driver.sessions, driver.rt) == 0 and len(receiver.requests) == 1  # not yet
    clock.move_to(first_retry)
    deliver_due(driver.sessions, driver.rt)
    [row] = deliveries(driver)
    assert row.attempts == 2 and (row.next_attempt_at - first_retry).total_seconds() == 60  # doubled
    receiver.status = 204
    clock.move_to(row.next_attempt_at)
    assert deliver_due(driver.sessions, driver.rt) == 1
    assert deliveries(driver)[0].status == "delivered" and len(receiver.requests) == 3


def test_an_unreachable_receiver_never_holds_up_the_sweep(driver, receiver, overdue_case):
    _, clock = overdue_case
    driver.rt.settings["WEBHOOKS"][0]["url"] = "http://127.0.0.1:9/nothing-listens-here"
    driver.session.execute(WebhookDelivery.__table__.update().values(url="http://127.0.0.1:9/nothing-listens-here"))
    driver.session.commit()
    clock.move_to(datetime(2026, 11, 25, 15, 31, tzinfo=SH))
    assert drain(driver.sessions, driver.rt).fired == 1   # the sweep never sends: the overdue fires
    deliver_due(driver.sessions, driver.rt)
    rows = deliveries(driver)
    assert [r.event for r in rows] == ["warning", "overdue"]
    assert all(r.status == "pending" and "Connection refused" in (r.last_error or "") for r in rows)


def test_a_receiver_that_never_answers_costs_one_timeout_per_delivery(driver, receiver, overdue_case):
    _, clock = overdue_case
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel accepts connections; nobody ever reads or answers them
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/silent"
    driver.rt.settings["WEBHOOKS"][0]["url"] = url
    driver.rt.settings["WEBHOOK_TIMEOUT_SECONDS"] = 0.2
    driver.session.execute(WebhookDelivery.__table__.update().values(url=url))
    driver.session.commit()
    clock.move_to(datetime(2026, 11, 25, 15, 31, tzinfo=SH))
    assert drain(driver.sessions, driver.rt).fired == 1
    started = time.perf_counter()
    try:
        assert deliver_due(driver.sessions, driver.rt) == 0
    finally:
        silent.close()
    assert time.perf_counter() - started < 2  # two deliveries, 0.2 s each, never the default 5 s
    rows = deliveries(driver)
    assert all(r.status == "pending" and r.attempts == 1 and "timed out" in (r.last_error or "") for r in rows)


def test_no_row_is_held_while_the_receiver_is_waited_on(driver, receiver, overdue_case):
    """While the receiver takes its time, another process can lock and read the delivery: the
    attempt is already committed, so a crash mid-post is retried once the claim expires."""
    seen = []

    def look():
        with driver.sessions() as other:
            query = select(WebhookDelivery)
            if other.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(nowait=True)  # fails at once if the sweep holds it
            row = other.scalars(query).one()
            seen.append((row.attempts, row.status, row.next_attempt_at))
            other.rollback()

    receiver.during_post = look
    assert deliver_due(driver.sessions, driver.rt) == 1
    (attempts, status, claim_expires), = seen
    assert attempts == 1 and status == "pending"
    assert claim_expires > driver.rt.clock()                 # claimed: no other sweep posts it meanwhile
    headers, _body = receiver.requests[0]
    assert headers["X-Gridflow-Delivery"] == str(deliveries(driver)[0].id)
    assert deliveries(driver)[0].status == "delivered"


def test_retention_deletes_old_read_notices_and_finished_deliveries_only(driver, receiver, overdue_case):
    from datetime import timedelta
    from engine.outbound.notifications import mark_read
    from engine.outbound.retention import prune
    from models import Notification
    case, clock = overdue_case
    deliver_due(driver.sessions, driver.rt)                      # the warning: delivered
    notices = driver.session.scalars(select(Notification).where(Notification.case_id == case.id)).all()
    assert len(notices) >= 2
    read, unread = notices[0], notices[1:]
    mark_read(driver.session, read.user_id, [read.id], driver.rt.clock())
    driver.session.commit()
    driver.rt.settings.update(NOTIFICATION_RETENTION_DAYS=90, WEBHOOK_RETENTION_DAYS=30)
    clock.move_to(driver.rt.clock() + timedelta(days=29))
    assert prune(driver.sessions, driver.rt).deliveries == 0
    clock.move_to(driver.rt.clock() + timedelta(days=2))
    assert prune(driver.sessions, driver.rt).deliveries == 1 and deliveries(driver) == []
    clock.move_to(driver.rt.clock() + timedelta(days=60))
    assert prune(driver.sessions, driver.rt).notifications == 1
    driver.session.expire_all()
    left = {n.id for n in driver.session.scalars(select(Notification).where(Notification.case_id == case.id))}
    assert left == {n.id for n in unread}                     # unread notices stay
    driver.rt.settings.update(NOTIFICATION_RETENTION_DAYS=0)
    assert prune(driver.sessions, driver.rt).notifications == 0
