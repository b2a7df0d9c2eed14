"""Request ids, JSON request logs, /metrics, security headers and the body size limit."""

import json
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from loyalty import clock
from tests.ops.receivers import deliver, subscribe


def scrape(client, token=None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def request_lines(text: str) -> list[dict]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "loyalty.request"]


# --------------------------------------------------------------------------- request ids and logs


def test_a_request_id_is_echoed_or_made_up(api):
    given = api.client.get("/healthz", headers={"X-Request-Id": "till-3:order-991.a"})
    assert given.headers["X-Request-Id"] == "till-3:order-991.a"
    for bad in ("has spaces", "x" * 129, "<script>", ""):
        made = api.client.get("/healthz", headers={"X-Request-Id": bad})
        assert made.headers["X-Request-Id"] != bad and len(made.headers["X-Request-Id"]) == 32
    assert len(api.client.get("/healthz").headers["X-Request-Id"]) == 32


def test_each_request_logs_one_json_line_without_secrets(api, pos_key, capsys):
    member = api.enroll(email="ana@example.com")
    capsys.readouterr()
    api.client.get("/v1/members?email=ana@example.com", headers={**api.headers(idempotency_key=False),
                                                                   "X-Request-Id": "req-123"})
    api.client.get("/v1/members/mem_nope")
    err = capsys.readouterr().err
    found, anonymous = request_lines(err)
    assert found["request_id"] == "req-123" and found["method"] == "GET" and found["status"] == 200
    assert found["path"] == "/v1/members" and found["endpoint"] == "/v1/members"
    assert found["principal"] == "till-1" and found["duration_ms"] >= 0 and found["level"] == "info"
    assert anonymous["status"] == 401 and anonymous["principal"] is None
    assert anonymous["endpoint"] == "/v1/members/<member_id>"
    assert pos_key not in err and "ana@example.com" not in err and member["id"]


def test_text_logs_can_be_asked_for(app, api, capsys):
    app.config["LOG_FORMAT"] = "text"
    from loyalty.observability.requests import configure_logging

    configure_logging(app)
    try:
        capsys.readouterr()
        api.client.get("/healthz")
        assert "INFO loyalty.request: request" in capsys.readouterr().err
    finally:
        app.config["LOG_FORMAT"] = "json"
        configure_logging(app)


# --------------------------------------------------------------------------- metrics


def test_requests_are_counted_by_route_and_status(api):
    before = scrape(api.client)
    for member_id in ("mem_a", "mem_b", "mem_c"):
        api.get(f"/v1/members/{member_id}")
    after = scrape(api.client)
    labels = {"method": "GET", "endpoint": "/v1/members/<member_id>", "status": "404"}
    assert value(after, "loyalty_http_requests_total", **labels) - value(
        before, "loyalty_http_requests_total", **labels) == 3
    latency = {"method": "GET", "endpoint": "/v1/members/<member_id>"}
    assert value(after, "loyalty_http_request_duration_seconds_count", **latency) - value(
        before, "loyalty_http_request_duration_seconds_count", **latency) == 3


def test_points_are_counted_when_their_transaction_commits(db_backend, api, admin_api):
    before = scrape(api.client)
    member = api.enroll(email_opt_in=True)  # 50 + 100
    api.purchase(member["id"], 1250)  # 12
    refused = api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "gold-tumbler"})
    assert refused.status_code == 409  # rolled back: counts nothing
    assert api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink"}).status_code == 201
    admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": -20, "reason": "fix"})
    after = scrape(api.client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("loyalty_points_issued_total") == 162
    assert moved("loyalty_points_redeemed_total") == 150
    assert moved("loyalty_points_adjusted_total", direction="down") == 20


def test_the_webhook_backlog_and_job_durations_are_exposed(app, api, admin_api, receiver, runner):
    subscribe(admin_api, receiver.url, ["member.enrolled"])
    api.enroll()
    api.enroll()
    samples = scrape(api.client)
    assert value(samples, "loyalty_webhook_backlog", state="due") == 2
    assert value(samples, "loyalty_webhook_oldest_pending_age_seconds") >= 0
    runs_before = value(samples, "loyalty_job_duration_seconds_count", job="deliver-webhooks")
    receiver.status = 500
    deliver(app, clock.now())
    waiting = scrape(api.client)
    assert value(waiting, "loyalty_webhook_backlog", state="waiting") == 2
    receiver.status = 200
    with freeze_later(minutes=5):
        assert runner.invoke(args=["jobs", "run", "--step", "deliver-webhooks"]).exit_code == 0
    done = scrape(api.client)
    assert value(done, "loyalty_webhook_backlog", state="due") == 0
    assert value(done, "loyalty_webhook_backlog", state="waiting") == 0
    assert value(done, "loyalty_job_duration_seconds_count", job="deliver-webhooks") == runs_before + 1


def freeze_later(**delta):
    from freezegun import freeze_time

    return freeze_time(clock.now() + timedelta(**delta))


def test_metrics_can_require_a_token(app, api):
    app.config["METRICS_TOKEN"] = "scrape-me"
    denied = api.client.get("/metrics")
    assert denied.status_code == 401 and denied.get_json()["error"]["code"] == "unauthorized"
    assert api.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert scrape(api.client, token="scrape-me")


# --------------------------------------------------------------------------- headers and limits


def test_api_answers_carry_security_headers(api):
    response = api.get("/v1/members/mem_nope")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Retry-After" not in response.headers
    docs = api.client.get("/openapi.json")
    assert docs.headers["X-Content-Type-Options"] == "nosniff" and "Cache-Control" not in docs.headers


def test_a_body_over_the_limit_is_413_in_the_contract_shape(app, api):
    big = {"external_id": "x", "first_name": "a" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    response = api.post("/v1/members", big)
    assert response.status_code == 413
    body = response.get_json()
    assert body["error"]["code"] == "payload_too_large" and set(body["error"]) == {"code", "message", "details"}


def test_hsts_is_sent_when_configured(app, api):
    assert "Strict-Transport-Security" not in api.client.get("/healthz").headers
    app.config["HSTS_SECONDS"] = 31536000
    assert api.client.get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=31536000")
