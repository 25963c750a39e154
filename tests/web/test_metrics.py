"""/metrics: what an operator's Prometheus reads — request latency per endpoint, the sweep's lag
and the timers it fired, incidents and the webhook backlog — and who may read it."""
from __future__ import annotations

import re
from datetime import timedelta

from engine.scheduler import drain
from tests.timekeeping import WEDNESDAY_10
from tests.web.test_api import REPORT


def _value(body: str, name: str, **labels) -> float:
    """The sample ``name`` whose labels include ``labels`` (0 when absent)."""
    total = 0.0
    for line in body.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_metrics_count_requests_per_endpoint_and_show_the_sweep_falling_behind(app, client, token, clock):
    headers = token("clerk_dhm")
    before = client.get("/metrics").get_data(as_text=True)
    assert client.post("/api/v1/cases", json=REPORT, headers=headers).status_code == 201
    for _ in range(3):
        client.get("/api/v1/cases?status=open", headers=headers)
    client.get("/api/v1/cases/GF-nothing", headers=headers)
    body = client.get("/metrics").get_data(as_text=True)
    count = "gridflow_request_duration_seconds_count"
    assert _value(body, count, endpoint="/api/v1/cases", method="GET", status="2xx") \
        - _value(before, count, endpoint="/api/v1/cases", method="GET", status="2xx") == 3
    assert _value(body, count, endpoint="/api/v1/cases", method="POST", status="2xx") \
        - _value(before, count, endpoint="/api/v1/cases", method="POST", status="2xx") == 1
    assert _value(body, count, endpoint="/api/v1/cases/<code>", status="4xx") \
        - _value(before, count, endpoint="/api/v1/cases/<code>", status="4xx") == 1
    assert _value(body, "gridflow_sweep_lag_seconds") == 0 and _value(body, "gridflow_due_timers") == 0
    assert _value(body, "gridflow_open_incidents") == 0 and _value(body, "gridflow_webhook_backlog") == 0

    # A day later nobody has swept: the acceptance warning is hours overdue for the sweep.
    clock.move_to(WEDNESDAY_10 + timedelta(days=1))
    late = client.get("/metrics").get_data(as_text=True)
    assert _value(late, "gridflow_due_timers") == 1
    assert 3600 < _value(late, "gridflow_sweep_lag_seconds") < 86400
    fired_before = _value(late, "gridflow_timers_fired_total")
    drain(app.extensions["gridflow.sessions"], app.extensions["gridflow.runtime"])
    swept = client.get("/metrics").get_data(as_text=True)
    assert _value(swept, "gridflow_timers_fired_total") - fired_before == 1
    assert _value(swept, "gridflow_due_timers") == 0 and _value(swept, "gridflow_sweep_lag_seconds") == 0


def test_metrics_answer_only_this_machine_or_the_configured_token(app, demo_db, database_url):
    from web import create_app
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert app.test_client().get("/metrics", environ_base=outside).status_code == 404
    guarded = create_app({"DATABASE_URL": database_url, "TESTING": True, "METRICS_TOKEN": "s3cret-scraper"}).test_client()
    assert guarded.get("/metrics").status_code == 404  # the token is required, even on this machine
    assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong"}, environ_base=outside).status_code == 404
    answer = guarded.get("/metrics", headers={"Authorization": "Bearer s3cret-scraper"}, environ_base=outside)
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain")
    assert "gridflow_open_incidents" in answer.get_data(as_text=True)
    off = create_app({"DATABASE_URL": database_url, "TESTING": True, "METRICS": False}).test_client()
    assert off.get("/metrics").status_code == 404


def test_a_mistyped_rate_limit_stops_the_app_at_start_naming_the_setting(demo_db, database_url):
    import pytest
    from engine.settings import SettingsError
    from web import create_app
    with pytest.raises(SettingsError, match=r"RATE_LIMIT_API: rate limit '\"\"'"):
        create_app({"DATABASE_URL": database_url, "TESTING": True, "RATE_LIMIT_API": '""'})
    assert create_app({"DATABASE_URL": database_url, "TESTING": True, "RATE_LIMIT_API": ""})  # "" turns it off
