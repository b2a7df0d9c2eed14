"""Stored answers to keyed requests are kept deflated and replay byte for byte; erasure finds them by member.

Migration 0011 packs the answers 0010 stored as text (and their hex fingerprints) and unpacks them on the way down.
"""

import json
from datetime import UTC, datetime
from hashlib import sha256

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from loyalty.errors import IdempotencyConflict
from loyalty.extensions import db
from loyalty.http.idempotency import fingerprint, run_once
from loyalty.models.idempotency import ANSWER_DICTIONARY, RAW_DEFLATE, pack_answer, unpack_answer
from tests.test_migrations import MIGRATIONS, empty_database_url, migration_app  # noqa: F401

NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
STORED = sa.text('SELECT status_code, body, fingerprint, member_id FROM idempotency_records WHERE "key" = :key')


def stored(app, key: str):
    """The record's columns as the database holds them, not as the model reads them."""
    with app.app_context():
        row = db.session.execute(STORED, {"key": key}).one()
        db.session.remove()
    return row


def purchase(member_id: str, amount: int = 1250) -> dict:
    return {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD",
            "source_id": f"till-1/{member_id}/{amount}",
            "items": [{"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}]}


def test_the_answer_dictionary_never_changes():
    """Answers packed against it are unreadable without it: a new one needs a new format byte."""
    assert sha256(ANSWER_DICTIONARY).hexdigest()[:16] == "98cde2c36a0d64e8"


@pytest.mark.parametrize("body", [
    '{"id":"mem_1","email":"ana@example.com"}',
    '{"b": 1,  "a" :[1.0, 1e3, -0.0]}',                # spacing, key order and number spelling kept
    '{"name":"Caf\\u00e9 \\ud83d\\ude00"}',             # escapes kept as escapes
    '{"name":"Café ☕","reason":"1 point per $1 on $12.50 = 12 points"}',
    "", "null",
])
def test_a_packed_answer_reads_back_byte_for_byte(body):
    packed = pack_answer(body)
    assert packed[:1] == RAW_DEFLATE
    assert unpack_answer(packed) == body
    assert unpack_answer(memoryview(packed)).encode() == body.encode()


def test_a_value_packed_some_other_way_is_refused_rather_than_misread():
    with pytest.raises(ValueError):
        unpack_answer(b'{"id":"mem_1"}')


def test_an_accrual_answer_is_stored_packed_and_replayed_byte_for_byte(api, app, db_backend):
    member = api.enroll(email="ana@example.com")
    first = api.post("/v1/events", purchase(member["id"]), idempotency_key="till-1/order-991")
    assert first.status_code == 201
    record = stored(app, "till-1/order-991")
    assert record.status_code == 201 and record.member_id == member["id"]
    assert bytes(record.body)[:1] == RAW_DEFLATE and b"ana@example.com" not in bytes(record.body)
    assert len(record.body) * 4 < len(first.data)  # ~1.7 KB of JSON in a few hundred bytes
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
        assert record.status_code == 409 and bytes(record.body)[:1] == RAW_DEFLATE
        assert record.member_id == ana["id"]
    assert ana_sale.status_code == 201
    assert api.post("/v1/events", purchase(bob["id"], 5000), idempotency_key="bob-1").data == bob_sale.data
    again = api.post("/v1/members", {"external_id": "cust-bob", "email": "bob@example.com",
                                     "referred_by": ana["referral_code"]}, idempotency_key="enrol-bob")
    assert (again.status_code, again.data) == (201, bob_enrolment.data)


# --------------------------------------------------------------------------- migration 0011

RECORDS_0010 = sa.table("idempotency_records", *(sa.column(name) for name in (
    "scope", "key", "fingerprint", "status_code", "body", "created_at")))
EVENT_ANSWER = ('{"event":{"id":"evt_1","type":"purchase","member_id":"mem_1"},"awarded":[],'
                '"explanation":[],"member":{"id":"mem_1","email":"ana@example.com","first_name":"Zoë"}}')
ERASED_ANSWER = '{"error":{"code":"member_inactive","message":"Member mem_2 is erased.","details":{}}}'
WEBHOOK_ANSWER = '{"id":"whe_1","url":"https://crm.example.com/hook"}'


def _request(amount: int) -> bytes:
    return json.dumps({"member_id": "mem_1", "amount": amount}).encode()


def _nothing_to_do():
    raise AssertionError("a stored answer must be replayed, not made again")


def test_migration_0011_packs_answers_stored_as_text_and_unpacks_them_on_the_way_down(migration_app):  # noqa: F811
    upgrade(directory=MIGRATIONS, revision="0010")
    old = {key: {"scope": "key:till-1", "key": key, "fingerprint": fingerprint("POST", "/v1/events", _request(n)).hex(),
                 "status_code": status, "body": body, "created_at": NOW}
           for n, (key, status, body) in enumerate((("k-event", 201, EVENT_ANSWER), ("k-erased", 409, ERASED_ANSWER),
                                                    ("k-webhook", 201, WEBHOOK_ANSWER)))}
    with db.engine.begin() as connection:
        connection.execute(RECORDS_0010.insert(), list(old.values()))
    upgrade(directory=MIGRATIONS)

    session = db.session()
    for n, key in enumerate(old):
        replay = run_once(session, "key:till-1", key, fingerprint("POST", "/v1/events", _request(n)), NOW,
                          _nothing_to_do)
        assert (replay.status, replay.body, replay.replayed) == (old[key]["status_code"], old[key]["body"], True)
    with pytest.raises(IdempotencyConflict):
        run_once(session, "key:till-1", "k-event", fingerprint("POST", "/v1/events", _request(99)), NOW,
                 _nothing_to_do)
    rows = {row.key: row for row in session.execute(sa.text(
        'SELECT "key", body, fingerprint, member_id FROM idempotency_records'))}
    session.close()
    assert {key: row.member_id for key, row in rows.items()} == {"k-event": "mem_1", "k-erased": None,
                                                                "k-webhook": None}
    assert all(bytes(row.body)[:1] == RAW_DEFLATE and len(row.fingerprint) == 32 for row in rows.values())

    downgrade(directory=MIGRATIONS, revision="0010")
    with db.engine.begin() as connection:
        back = {row.key: dict(row._mapping) for row in connection.execute(sa.select(RECORDS_0010))}
    assert {key: {**row, "created_at": NOW} for key, row in back.items()} == old
