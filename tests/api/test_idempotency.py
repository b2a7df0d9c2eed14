"""Idempotency-Key and source_id: a retry changes nothing and answers as the first time."""

import json
import uuid

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.models import Event, IdempotencyRecord, LedgerEntry, Lot, Member, Refund

TABLES = (Member, Event, LedgerEntry, Lot, Refund, IdempotencyRecord)


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        counts = {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                  for model in TABLES}
        db.session.remove()
    return counts


def purchase_body(member_id: str, amount: int = 1250, **extra) -> dict:
    return {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD",
            "source_id": uuid.uuid4().hex, **extra}


def ledger_size(api, member_id: str) -> int:
    return len(api.get(f"/v1/members/{member_id}/transactions?limit=100").get_json()["data"])


def balance(api, member_id: str) -> int:
    return api.member(member_id)["points"]["balance"]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


# --------------------------------------------------------------------------- replays


def test_same_key_and_body_replays_the_first_response_byte_for_byte(api, app, db_backend):
    member = api.enroll()
    body = purchase_body(member["id"], items=[{"category": "coffee", "quantity": 2, "unit_amount": 450}])
    first = api.post("/v1/events", body, idempotency_key="till-1/order-991")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert first.get_json()["member"]["points"]["balance"] == 71
    counts = row_counts(app)

    for _ in range(2):
        again = api.post("/v1/events", body, idempotency_key="till-1/order-991")
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.data == first.data
    assert row_counts(app) == counts
    assert balance(api, member["id"]) == 71
    assert ledger_size(api, member["id"]) == 3


def test_replay_returns_the_first_response_even_after_the_member_changed(api, db_backend):
    member = api.enroll()
    body = purchase_body(member["id"], amount=1000)
    first = api.post("/v1/events", body, idempotency_key="k-1")
    api.purchase(member["id"], 2000)

    replay = api.post("/v1/events", body, idempotency_key="k-1")
    assert replay.data == first.data
    assert replay.get_json()["member"]["points"]["balance"] == 60
    assert balance(api, member["id"]) == 80


def test_replay_ignores_key_order_and_whitespace_of_the_json_body(api, db_backend):
    member = api.enroll()
    body = purchase_body(member["id"])
    first = api.post("/v1/events", body, idempotency_key="k-1")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2)
    again = api.client.post("/v1/events", data=reordered, content_type="application/json",
                            headers=api.headers(idempotency_key="k-1"))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data
    assert balance(api, member["id"]) == 62


def test_refund_replay_changes_nothing(api, app, db_backend):
    member = api.enroll()
    sale = api.purchase(member["id"], 1000)
    path = f"/v1/events/{sale['event']['id']}/refunds"
    first = api.post(path, {"amount": 500}, idempotency_key="refund-1")
    assert first.status_code == 201
    assert first.get_json()["reversed_points"] == 5
    counts = row_counts(app)

    again = api.post(path, {"amount": 500}, idempotency_key="refund-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data
    assert row_counts(app) == counts
    assert balance(api, member["id"]) == 55
    assert api.get(f"/v1/events/{sale['event']['id']}").get_json()["refunded_amount"] == 500


def test_adjustment_replay_changes_nothing(admin_api, app, db_backend):
    member = admin_api.enroll()
    path = f"/v1/members/{member['id']}/adjustments"
    body = {"points": 40, "reason": "goodwill"}
    first = admin_api.post(path, body, idempotency_key="adj-1")
    assert first.status_code == 201
    counts = row_counts(app)

    again = admin_api.post(path, body, idempotency_key="adj-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data
    assert row_counts(app) == counts
    assert balance(admin_api, member["id"]) == 90


def test_enrolment_with_a_key_replays_instead_of_enrolling_twice(api, app, db_backend):
    body = {"external_id": "cust-42", "email": "ana@example.com"}
    first = api.post("/v1/members", body, idempotency_key="enrol-42")
    assert first.status_code == 201
    counts = row_counts(app)
    again = api.post("/v1/members", body, idempotency_key="enrol-42")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.data == first.data
    assert row_counts(app) == counts


# --------------------------------------------------------------------------- conflicts


def test_same_key_with_a_different_body_is_idempotency_conflict(api, app, db_backend):
    member = api.enroll()
    body = purchase_body(member["id"], amount=1000)
    assert api.post("/v1/events", body, idempotency_key="k-1").status_code == 201
    counts = row_counts(app)

    changed = {**body, "amount": 2000}
    assert_error(api.post("/v1/events", changed, idempotency_key="k-1"), 409, "idempotency_conflict")
    assert row_counts(app) == counts
    assert balance(api, member["id"]) == 60


def test_same_key_on_another_path_is_idempotency_conflict(admin_api, db_backend):
    member = admin_api.enroll()
    sale = admin_api.purchase(member["id"], 1000)
    adjusted = admin_api.post(f"/v1/members/{member['id']}/adjustments",
                              {"points": 5, "reason": "x"}, idempotency_key="shared")
    assert adjusted.status_code == 201
    refund = admin_api.post(f"/v1/events/{sale['event']['id']}/refunds", {"amount": 500},
                            idempotency_key="shared")
    assert_error(refund, 409, "idempotency_conflict")
    assert balance(admin_api, member["id"]) == 65


def test_keys_are_per_api_key(api, admin_api, app, db_backend):
    member = api.enroll()
    body = {"type": "purchase", "member_id": member["id"], "amount": 1000, "currency": "USD"}
    till = api.post("/v1/events", body, idempotency_key="order-1")
    office = admin_api.post("/v1/events", body, idempotency_key="order-1")
    assert till.status_code == office.status_code == 201
    assert "Idempotent-Replayed" not in office.headers
    assert office.get_json()["event"]["id"] != till.get_json()["event"]["id"]
    assert balance(api, member["id"]) == 70

    # each key still replays its own first response
    assert api.post("/v1/events", body, idempotency_key="order-1").data == till.data
    assert admin_api.post("/v1/events", body, idempotency_key="order-1").data == office.data
    other = {**body, "amount": 5000}
    assert_error(admin_api.post("/v1/events", other, idempotency_key="order-1"), 409, "idempotency_conflict")
    assert balance(api, member["id"]) == 70


def test_duplicate_source_id_with_a_new_key_is_idempotency_conflict(api, app, db_backend):
    member = api.enroll()
    other_member = api.enroll()
    body = purchase_body(member["id"], amount=1000, source_id="till-3/order-991")
    assert api.post("/v1/events", body).status_code == 201
    counts = row_counts(app)

    error = assert_error(api.post("/v1/events", body), 409, "idempotency_conflict")
    assert error["details"] == {"source_id": "till-3/order-991"}
    assert_error(api.post("/v1/events", {**body, "member_id": other_member["id"]}), 409, "idempotency_conflict")
    assert row_counts(app) == counts
    assert balance(api, member["id"]) == 60
    assert balance(api, other_member["id"]) == 50


# --------------------------------------------------------------------------- the header itself


@pytest.mark.parametrize("endpoint", ["events", "refunds", "adjustments"])
def test_missing_idempotency_key_is_bad_request(admin_api, app, db_backend, endpoint):
    member = admin_api.enroll()
    sale = admin_api.purchase(member["id"], 1000)
    path, body = {
        "events": ("/v1/events", purchase_body(member["id"])),
        "refunds": (f"/v1/events/{sale['event']['id']}/refunds", {"amount": 500}),
        "adjustments": (f"/v1/members/{member['id']}/adjustments", {"points": 5, "reason": "x"}),
    }[endpoint]
    counts = row_counts(app)
    response = admin_api.post(path, body, idempotency_key=False)
    error = assert_error(response, 400, "bad_request")
    assert "Idempotency-Key" in error["message"]
    assert row_counts(app) == counts


@pytest.mark.parametrize(("key", "status"), [("", 400), ("k" * 256, 400), ("k" * 255, 201), ("k", 201)])
def test_idempotency_key_is_1_to_255_characters(api, app, db_backend, key, status):
    member = api.enroll()
    counts = row_counts(app)
    response = api.client.post("/v1/events", json=purchase_body(member["id"]),
                               headers={"Authorization": f"Bearer {api.key}", "Idempotency-Key": key})
    assert response.status_code == status, response.get_json()
    if status == 400:
        assert_error(response, 400, "bad_request")
        assert row_counts(app) == counts


# --------------------------------------------------------------------------- failures do not burn keys


def test_a_rejected_request_is_not_stored_under_its_key(api, app, db_backend):
    member = api.enroll()
    body = purchase_body(member["id"], currency="EUR")
    counts = row_counts(app)
    for _ in range(2):
        response = api.post("/v1/events", body, idempotency_key="k-422")
        assert_error(response, 422, "validation_error")
        assert "Idempotent-Replayed" not in response.headers
    assert row_counts(app) == counts


def test_a_request_refused_for_the_moment_succeeds_on_retry_with_the_same_key(api, db_backend):
    with freeze_time("2026-11-10T15:00:00Z") as frozen:
        member = api.enroll()
        body = purchase_body(member["id"], amount=1000, occurred_at="2026-11-10T15:10:00Z")
        assert_error(api.post("/v1/events", body, idempotency_key="k-1"), 422, "validation_error")

        frozen.move_to("2026-11-10T15:06:00Z")  # the till's clock is now only 4 minutes ahead
        response = api.post("/v1/events", body, idempotency_key="k-1")
        assert response.status_code == 201, response.get_json()
        assert "Idempotent-Replayed" not in response.headers
        assert response.get_json()["member"]["points"]["balance"] == 60


def test_unknown_member_then_enrolled_retry_with_the_same_key_succeeds(api, db_backend):
    body = {"type": "purchase", "external_id": "cust-late", "amount": 1000, "currency": "USD",
            "source_id": "till-1/order-7"}
    assert_error(api.post("/v1/events", body, idempotency_key="order-7"), 404, "not_found")
    assert_error(api.post("/v1/events", body, idempotency_key="order-7"), 404, "not_found")

    member = api.enroll("cust-late")
    response = api.post("/v1/events", body, idempotency_key="order-7")
    assert response.status_code == 201, response.get_json()
    assert "Idempotent-Replayed" not in response.headers
    assert response.get_json()["member"]["id"] == member["id"]
    replay = api.post("/v1/events", body, idempotency_key="order-7")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.data == response.data
