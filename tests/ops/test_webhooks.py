"""Outgoing webhooks: endpoints API, outbox in the same transaction, signed delivery, retries, order, redelivery."""

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from loyalty import clock
from loyalty.extensions import db
from loyalty.models import OutboxEvent, WebhookDelivery
from loyalty.outbox.delivery import DeliverySettings, deliver_due
from tests.ops.receivers import SETTINGS, deliver, subscribe

ROOT = Path(__file__).resolve().parents[2]


def verify_signature(secret: str, received) -> bool:
    """What a receiver does: recompute HMAC-SHA256 of "t.body" and compare with a v1 value."""
    parts = [p.split("=", 1) for p in received.headers["Loyalty-Signature"].split(",")]
    timestamp = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256).hexdigest()
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)


def outbox_order(app) -> dict[str, list[str]]:
    """Each member's event ids in the order they were written."""
    with app.app_context():
        rows = db.session.execute(select(OutboxEvent.member_id, OutboxEvent.id).order_by(OutboxEvent.seq)).all()
        db.session.remove()
    order: dict[str, list[str]] = {}
    for member_id, event_id in rows:
        order.setdefault(member_id, []).append(event_id)
    return order


def arrival_order(received) -> dict[str, list[str]]:
    order: dict[str, list[str]] = {}
    for r in received:
        order.setdefault(r.payload["data"].get("member_id") or r.payload["data"]["member"]["id"], []).append(r.event_id)
    return order


def statuses(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all()
        db.session.remove()
    return dict(rows)


def some_activity(api, admin_api, members=2):
    """Per member: enrolment (member.enrolled, points.earned), a purchase, an adjustment."""
    ids = []
    for _ in range(members):
        member = api.enroll(email_opt_in=True)
        api.purchase(member["id"], 1250)
        response = admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": 7, "reason": "goodwill"})
        assert response.status_code == 201
        ids.append(member["id"])
    return ids


# --------------------------------------------------------------------------- endpoints API


def test_an_endpoint_is_created_with_its_secret_shown_once(admin_api, receiver):
    created = subscribe(admin_api, receiver.url, ["points.earned", "member.enrolled"])
    assert created["id"].startswith("whe_")
    assert created["url"] == receiver.url
    assert created["events"] == ["member.enrolled", "points.earned"]
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30

    one = admin_api.get(f"/v1/webhook-endpoints/{created['id']}").get_json()
    listed = admin_api.get("/v1/webhook-endpoints").get_json()
    assert "secret" not in one and one["id"] == created["id"] and one["failures"] == 0
    assert [e["id"] for e in listed["data"]] == [created["id"]] and "secret" not in listed["data"][0]


def test_endpoints_are_admin_only_and_checked(api, admin_api, receiver):
    assert api.post("/v1/webhook-endpoints", {"url": receiver.url, "events": ["points.earned"]}).status_code == 403
    bad = admin_api.post("/v1/webhook-endpoints", {"url": "ftp://example.com/x", "events": ["points.bought"]})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["details"]["fields"]) == {"url", "events"}
    empty = admin_api.post("/v1/webhook-endpoints", {"url": receiver.url, "events": []})
    assert empty.status_code == 422 and "events" in empty.get_json()["error"]["details"]["fields"]
    assert admin_api.get("/v1/webhook-endpoints/whe_nope").status_code == 404


def test_a_deleted_endpoint_gets_nothing_more(app, api, admin_api, receiver):
    endpoint = subscribe(admin_api, receiver.url)
    api.enroll()
    response = admin_api.client.delete(f"/v1/webhook-endpoints/{endpoint['id']}",
                                       headers=admin_api.headers(idempotency_key=False))
    assert response.status_code == 204
    assert admin_api.get(f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 404
    api.enroll()
    report = deliver(app, clock.now())
    assert report.claimed == 0 and receiver.requests == []
    assert statuses(app) == {"cancelled": 2}


# --------------------------------------------------------------------------- outbox


def test_every_change_writes_its_event_for_subscribers_only(app, api, admin_api, receiver):
    api.enroll()  # no endpoint yet: nothing written
    subscribe(admin_api, receiver.url, ["points.earned"])
    member = api.enroll(email_opt_in=True)  # welcome 50 and sign-up 100: two points.earned
    event = api.purchase(member["id"], 1250)
    refund = api.post(f"/v1/events/{event['event']['id']}/refunds", {"amount": 1250})
    assert refund.status_code == 201
    with app.app_context():
        types = db.session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.seq)).all()
        db.session.remove()
    assert types == ["points.earned", "points.earned", "points.earned"]


def test_the_event_rolls_back_with_its_change(app, api, admin_api, receiver):
    """An event whose transaction fails is never written, so it is never sent."""
    from loyalty.db.transactions import write_transaction
    from loyalty.services import adjustments
    from loyalty.services.rules import active_rules

    subscribe(admin_api, receiver.url, ["points.adjusted"])
    member = api.enroll()
    with app.app_context():
        with pytest.raises(RuntimeError):
            with write_transaction(db.session()):
                adjustments.adjust(db.session(), active_rules(db.session()), member["id"], 10, "oops", "t",
                                   clock.now())
                raise RuntimeError("the request failed after the change")
        assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        db.session.remove()


# --------------------------------------------------------------------------- delivery


def test_deliveries_are_signed_and_carry_the_contract_payload(app, api, admin_api, receiver):
    endpoint = subscribe(admin_api, receiver.url)
    member = api.enroll(external_id="cust-42", email="ana@example.com")
    report = deliver(app, clock.now())
    assert report.succeeded == 2 and statuses(app) == {"succeeded": 2}
    enrolled, earned = receiver.delivered()
    assert enrolled.payload["type"] == "member.enrolled"
    assert set(enrolled.payload) == {"id", "type", "created_at", "data"}
    assert enrolled.payload["id"].startswith("wev_") and enrolled.payload["created_at"].endswith("Z")
    assert enrolled.payload["data"]["member"]["external_id"] == "cust-42"
    assert enrolled.payload["data"]["member"]["email"] == "ana@example.com"
    assert earned.payload["type"] == "points.earned"
    assert earned.payload["data"]["member_id"] == member["id"]
    assert earned.payload["data"]["points"] == 50 and earned.payload["data"]["balance"] == 50
    for received in (enrolled, earned):
        assert verify_signature(endpoint["secret"], received)
        assert not verify_signature("whsec_wrong", received)
        assert received.headers["Content-Type"] == "application/json"
        assert received.headers["Loyalty-Event-Id"] == received.payload["id"]


def test_a_receiver_down_for_a_day_gets_every_event_in_order_per_member(app, api, admin_api, receiver):
    subscribe(admin_api, receiver.url)
    some_activity(api, admin_api, members=3)
    written = outbox_order(app)
    total = sum(len(ids) for ids in written.values())
    receiver.status = 500
    t0 = clock.now()
    for hours in range(0, 24, 2):  # the worker keeps trying all day; each try fails
        deliver(app, t0 + timedelta(hours=hours))
    assert receiver.delivered() == [] and 0 < len(receiver.requests) <= 12
    assert statuses(app) == {"pending": total}

    receiver.status = 200
    deliver(app, t0 + timedelta(days=1))
    delivered = receiver.delivered()
    assert sorted(r.event_id for r in delivered) == sorted(i for ids in written.values() for i in ids)
    assert arrival_order(delivered) == written
    refused = {r.event_id for r in receiver.requests if r.status == 500}
    assert refused and refused <= {r.event_id for r in delivered}  # a retry carries the same id
    assert statuses(app) == {"succeeded": total}


def test_a_failed_event_holds_back_the_members_later_events(app, api, admin_api, receiver):
    subscribe(admin_api, receiver.url, ["member.enrolled", "points.earned"])
    member = api.enroll()
    receiver.status = 503
    t0 = clock.now()
    deliver(app, t0)
    assert [r.payload["type"] for r in receiver.requests] == ["member.enrolled"]
    api.purchase(member["id"], 2000)
    receiver.status = 200
    deliver(app, t0 + timedelta(seconds=5))  # the endpoint is paused: nothing is sent, not even the new event
    assert len(receiver.requests) == 1
    deliver(app, t0 + timedelta(minutes=1))
    assert [r.payload["type"] for r in receiver.delivered()] == ["member.enrolled", "points.earned",
                                                                 "points.earned"]


def test_a_receiver_that_hangs_delays_no_other_endpoint(app, api, admin_api, receiver, second_receiver):
    subscribe(admin_api, receiver.url)
    subscribe(admin_api, second_receiver.url)
    some_activity(api, admin_api, members=3)
    events = sum(len(ids) for ids in outbox_order(app).values())
    receiver.delay = 3  # longer than the 0.5 s timeout
    started = time.perf_counter()
    report = deliver(app, clock.now())
    elapsed = time.perf_counter() - started
    assert len(second_receiver.delivered()) == events == 15
    assert report.failed == 1 and report.deferred == events - 1  # one timeout, then the slow endpoint waits
    assert elapsed < 3.0  # one timeout (0.5 s), not twelve


def test_killed_between_send_and_record_the_event_is_sent_again_with_its_id(app, api, admin_api, receiver):
    subscribe(admin_api, receiver.url, ["member.enrolled"])
    api.enroll()
    t0 = clock.now()
    deliver(app, t0, stop_after_send=True)
    [first] = receiver.requests
    assert statuses(app) == {"pending": 1}
    assert deliver(app, t0 + timedelta(seconds=10)).claimed == 0  # still leased to the dead worker
    deliver(app, t0 + SETTINGS.lease + timedelta(seconds=1))
    assert [r.event_id for r in receiver.requests] == [first.event_id, first.event_id]
    assert statuses(app) == {"succeeded": 1}


def test_a_killed_worker_process_loses_nothing(app, api, admin_api, receiver, tmp_path, database_url):
    """`flask jobs worker` is SIGKILLed while its request is at the receiver; the event comes again."""
    if not database_url.startswith("sqlite:///"):
        pytest.skip("runs against the test's SQLite file")
    subscribe(admin_api, receiver.url, ["member.enrolled"])
    api.enroll()
    receiver.hold = True
    env = {**os.environ, "LOYALTY_ENV": "production", "SECRET_KEY": "worker-test", "DATABASE_URL": database_url,
           "PYTHONPATH": str(ROOT), "WEBHOOK_TIMEOUT_SECONDS": "20", "LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "jobs", "worker", "--idle", "0.2"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert receiver.arrived.wait(60), worker.stderr.read1().decode() if worker.poll() is not None else "no request"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        receiver.release.set()
    receiver.hold = False
    [sent] = receiver.requests
    assert statuses(app) == {"pending": 1}
    lease = DeliverySettings(timeout=20).lease
    deliver(app, clock.now() + lease + timedelta(seconds=1))
    assert [r.event_id for r in receiver.requests] == [sent.event_id, sent.event_id]
    assert statuses(app) == {"succeeded": 1}


def test_a_delivery_is_given_up_after_three_days_and_shows_in_the_log(app, api, admin_api, receiver):
    endpoint = subscribe(admin_api, receiver.url, ["member.enrolled"])
    api.enroll()
    api.enroll()
    receiver.status = 500
    t0 = clock.now()
    for hours in range(0, 72, 6):
        deliver(app, t0 + timedelta(hours=hours))
    assert statuses(app) == {"pending": 2}
    deliver(app, t0 + timedelta(days=3, hours=1))
    assert statuses(app) == {"failed": 2}
    log = admin_api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries?status=failed").get_json()
    assert len(log["data"]) == 2
    assert all(d["last_error"].startswith("gave up") for d in log["data"])
    attempted = [d for d in log["data"] if d["attempts"]]
    assert attempted and attempted[0]["last_status_code"] == 500


def test_the_log_shows_each_attempt_and_an_admin_can_redeliver(app, api, admin_api, receiver):
    endpoint = subscribe(admin_api, receiver.url, ["member.enrolled"])
    api.enroll()
    receiver.status = 500
    t0 = clock.now()
    deliver(app, t0)
    receiver.status = 200
    deliver(app, t0 + timedelta(minutes=2))
    [entry] = admin_api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").get_json()["data"]
    assert entry["status"] == "succeeded" and entry["attempts"] == 2 and entry["event_type"] == "member.enrolled"
    detail = admin_api.get(f"/v1/webhook-deliveries/{entry['id']}").get_json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 200]
    assert detail["payload"]["id"] == entry["event_id"]

    assert api.post(f"/v1/webhook-deliveries/{entry['id']}/redeliver").status_code == 403
    again = admin_api.post(f"/v1/webhook-deliveries/{entry['id']}/redeliver")
    assert again.status_code == 202, again.get_json()
    assert again.get_json()["status"] == "pending" and again.get_json()["event_id"] == entry["event_id"]
    deliver(app, t0 + timedelta(minutes=3))
    assert [r.event_id for r in receiver.delivered()] == [entry["event_id"], entry["event_id"]]
    assert len(admin_api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").get_json()["data"]) == 2
    assert admin_api.post("/v1/webhook-deliveries/whd_nope/redeliver").status_code == 404


def test_a_rotated_secret_signs_alongside_the_old_one_for_a_grace_period(app, api, admin_api, receiver):
    endpoint = subscribe(admin_api, receiver.url, ["member.enrolled"])
    rotated = admin_api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.get_json()["secret"]
    assert new_secret != endpoint["secret"]
    api.enroll()
    api.enroll()
    t0 = clock.now()
    deliver(app, t0, max_rounds=1, settings=DeliverySettings(timeout=0.5, batch_size=1))
    deliver(app, t0 + timedelta(days=2))  # after the 24 h grace
    during, after = receiver.delivered()
    assert verify_signature(new_secret, during) and verify_signature(endpoint["secret"], during)
    assert verify_signature(new_secret, after) and not verify_signature(endpoint["secret"], after)


def test_jobs_run_delivers_webhooks(app, api, admin_api, receiver, runner):
    subscribe(admin_api, receiver.url, ["member.enrolled"])
    api.enroll()
    result = runner.invoke(args=["jobs", "run", "--step", "deliver-webhooks"])
    assert result.exit_code == 0, result.output
    assert "deliver-webhooks" in result.output
    assert [r.payload["type"] for r in receiver.delivered()] == ["member.enrolled"]


def test_two_workers_at_once_send_each_event_once_in_order(db_backend, app, api, admin_api, receiver):
    subscribe(admin_api, receiver.url)
    some_activity(api, admin_api, members=6)
    written = outbox_order(app)
    now = clock.now()
    settings = DeliverySettings(timeout=2.0, batch_size=5)
    barrier = threading.Barrier(2)
    errors = []

    def work():
        try:
            with app.app_context():
                barrier.wait(10)
                deliver_due(db.session(), now, settings)
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    delivered = receiver.delivered()
    assert sorted(r.event_id for r in delivered) == sorted(i for ids in written.values() for i in ids)
    assert len({r.event_id for r in delivered}) == len(delivered)
    assert arrival_order(delivered) == written


def test_payload_json_is_what_was_signed(app, api, admin_api, receiver):
    endpoint = subscribe(admin_api, receiver.url, ["member.enrolled"])
    api.enroll(first_name="Zoë")
    deliver(app, clock.now())
    [received] = receiver.delivered()
    assert json.loads(received.body) == received.payload
    assert received.payload["data"]["member"]["first_name"] == "Zoë"
    assert verify_signature(endpoint["secret"], received)
