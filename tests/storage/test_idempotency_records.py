"""Stored answers to keyed requests are kept as their JSON text and replay byte for byte; erasure finds them by member.
"""

import json
from datetime import UTC, datetime
from hashlib import sha256

import pytest
import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.http.idempotency import fingerprint, run_once

NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
STORED = sa.text('SELECT status_code, body, fingerprint, member_id FROM idempotency_records WHERE "key" = :key')


def stored(app, key: str):
    """The record's columns as the database holds them, not as the model reads them."""
    with app.app_context():
        row = db.session.execute(STORED, {"key": key}).one()
        db.session.remove()
    return row


def answer_field(app, db_backend: str, key: str, *path: str):
    """A field of a stored answer, read by the database's own JSON functions."""
    if db_backend == "postgres":
        query = "SELECT CAST(body AS jsonb) #>> CAST(:path AS text[]) FROM idempotency_records WHERE \"key\" = :key"
        path = "{" + ",".join(path) + "}"
    else:
        query = "SELECT json_extract(body, :path) FROM idempotency_records WHERE \"key\" = :key"
        path = "$." + ".".join(path)
    with app.app_context():
        value = db.session.scalar(sa.text(query), {"path": path, "key": key})
        db.session.remove()
    return value


def purchase(member_id: str, amount: int = 1250) -> dict:
    return {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD",
            "source_id": f"till-1/{member_id}/{amount}",
            "items": [{"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}]}


@pytest.mark.parametrize("body", [
    '{"id":"mem_1","email":"ana@example.com"}',
    '{"b": 1,  "a" :[1.0, 1e3, -0.0]}',                # spacing, key order and number spelling kept
    '{"name":"Caf\\u00e9 \\ud83d\\ude00"}',             # escapes kept as escapes
    '{"name":"Café ☕","reason":"1 point per $1 on $12.50 = 12 points"}',
    "", "null",
])
def test_a_stored_answer_replays_byte_for_byte(app, body, db_backend):
    request = fingerprint("POST", "/v1/members", b"{}")
    with app.app_context():
        first = run_once(db.session(), "key:till-1", "k-1", request, NOW, lambda: (201, body))
        replay = run_once(db.session(), "key:till-1", "k-1", request, NOW, _nothing_to_do)
        db.session.remove()
    assert (first.replayed, replay.replayed) == (False, True)
    assert replay.body.encode() == body.encode()
    assert stored(app, "k-1").body == body


def _nothing_to_do():
    raise AssertionError("a stored answer must be replayed, not made again")


def test_an_accrual_answer_is_stored_as_its_text_which_sql_reads_and_replayed_byte_for_byte(api, app, db_backend):
    member = api.enroll(email="ana@example.com")
    first = api.post("/v1/events", purchase(member["id"]), idempotency_key="till-1/order-991")
    assert first.status_code == 201
    record = stored(app, "till-1/order-991")
    assert record.status_code == 201 and record.member_id == member["id"]
    assert record.body.encode() == first.data
    assert answer_field(app, db_backend, "till-1/order-991", "event", "id") == first.get_json()["event"]["id"]
    assert bytes(record.fingerprint) == sha256(
        f"POST /v1/events\n{json.dumps(purchase(member['id']), sort_keys=True, separators=(',', ':'))}"
        .encode()).digest()

    again = api.post("/v1/events", purchase(member["id"]), idempotency_key="till-1/order-991")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (201, "true")
    assert again.data == first.data
    other = api.post("/v1/events", purchase(member["id"], 2000), idempotency_key="till-1/order-991")
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_conflict"
    assert stored(app, "till-1/order-991") == record


def test_each_keyed_write_records_the_member_it_is_about(admin_api, app, db_backend):
    member = admin_api.enroll()
    assert admin_api.post("/v1/members", {"external_id": "cust-9"}, idempotency_key="enrol").status_code == 201
    sale = admin_api.post("/v1/events", purchase(member["id"]), idempotency_key="event").get_json()
    admin_api.post(f"/v1/events/{sale['event']['id']}/refunds", {"amount": 500}, idempotency_key="refund")
    admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": 500, "reason": "gift"},
                   idempotency_key="adjustment")
    redemption = admin_api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink"},
                                idempotency_key="redemption").get_json()
    admin_api.post(f"/v1/redemptions/{redemption['id']}/void", idempotency_key="void")
    with app.app_context():
        members = dict(db.session.execute(sa.text(
            'SELECT "key", member_id FROM idempotency_records WHERE status_code < 300')).all())
        cust_9 = db.session.scalar(sa.text("SELECT id FROM members WHERE external_id = 'cust-9'"))
        db.session.remove()
    assert {k: members[k] for k in ("enrol", "event", "refund", "adjustment", "redemption", "void")} == {
        "enrol": cust_9, "event": member["id"], "refund": member["id"], "adjustment": member["id"],
        "redemption": member["id"], "void": member["id"]}


def test_erasure_answers_replays_of_the_member_with_erased_and_leaves_others_alone(api, app, db_backend):
    ana = api.post("/v1/members", {"external_id": "cust-ana", "email": "ana@example.com"},
                   idempotency_key="enrol-ana").get_json()
    bob_enrolment = api.post("/v1/members", {"external_id": "cust-bob", "email": "bob@example.com",
                                             "referred_by": ana["referral_code"]}, idempotency_key="enrol-bob")
    bob = bob_enrolment.get_json()
    ana_sale = api.post("/v1/events", purchase(ana["id"]), idempotency_key="ana-1")
    bob_sale = api.post("/v1/events", purchase(bob["id"], 5000), idempotency_key="bob-1")
    assert ana["id"] in bob_sale.get_data(as_text=True)  # the referrer's points name her; the answer is Bob's

    assert api.client.delete(f"/v1/members/{ana['id']}",
                             headers=api.headers(idempotency_key=False)).status_code == 200
    for key, body, path in (("enrol-ana", {"external_id": "cust-ana", "email": "ana@example.com"}, "/v1/members"),
                            ("ana-1", purchase(ana["id"]), "/v1/events")):
        replay = api.post(path, body, idempotency_key=key)
        assert replay.status_code == 409 and replay.get_json()["error"]["code"] == "member_inactive"
        assert b"ana@example.com" not in replay.data
        record = stored(app, key)
        assert (record.status_code, record.body.encode()) == (409, replay.data)
        assert record.member_id == ana["id"]
    assert ana_sale.status_code == 201
    assert api.post("/v1/events", purchase(bob["id"], 5000), idempotency_key="bob-1").data == bob_sale.data
    again = api.post("/v1/members", {"external_id": "cust-bob", "email": "bob@example.com",
                                     "referred_by": ana["referral_code"]}, idempotency_key="enrol-bob")
    assert (again.status_code, again.data) == (201, bob_enrolment.data)
