"""Bad requests get the contract's error shape and write nothing."""

import base64
import json
import uuid

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.models import Event, IdempotencyRecord, LedgerEntry, Lot, Member, MemberDay, Refund, RuleUsage

NOW = "2026-11-10T15:00:00Z"
TABLES = (Member, Event, LedgerEntry, Lot, Refund, RuleUsage, MemberDay, IdempotencyRecord)


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        counts = {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
                  for model in TABLES}
        db.session.remove()
    return counts


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def field_errors(response) -> dict:
    return assert_error(response, 422, "validation_error")["details"]["fields"]


def purchase(member_id: str, **overrides) -> dict:
    return {"type": "purchase", "member_id": member_id, "amount": 1250, "currency": "USD",
            "source_id": uuid.uuid4().hex, **overrides}


def cursor_of(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.fixture
def member(api):
    with freeze_time(NOW):
        return api.enroll("cust-42", email="ana@example.com")


@pytest.fixture
def counts(app, member):
    """Row counts once the member exists; each test checks nothing moved."""
    return row_counts(app)


# --------------------------------------------------------------------------- bodies


def test_malformed_json_is_bad_request(api, app, member, counts):
    response = api.client.post("/v1/events", data='{"type": "purchase",', content_type="application/json",
                               headers=api.headers())
    assert_error(response, 400, "bad_request")
    assert row_counts(app) == counts


def test_malformed_json_on_enrolment_is_bad_request(api, app, counts):
    response = api.client.post("/v1/members", data="{external_id: 1}", content_type="application/json",
                               headers=api.headers())
    assert_error(response, 400, "bad_request")
    assert row_counts(app) == counts


@pytest.mark.parametrize("path", ["/v1/events", "/v1/members", "/v1/events/preview"])
def test_json_array_body_is_validation_error(api, app, counts, path):
    response = api.post(path, [{"type": "purchase"}])
    assert "_schema" in field_errors(response)
    assert row_counts(app) == counts


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "12"}, "amount"),
    ({"amount": 12.5}, "amount"),
    ({"amount": True}, "amount"),
    ({"currency": 840}, "currency"),
    ({"type": 7}, "type"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"attributes": []}, "attributes"),
    ({"items": {"sku": "latte"}}, "items"),
])
def test_wrong_types_are_validation_errors_naming_the_field(api, app, member, counts, change, field):
    response = api.post("/v1/events", purchase(member["id"], **change))
    assert field in field_errors(response)
    assert row_counts(app) == counts


def test_fractional_item_quantity_names_the_item_field(api, app, member, counts):
    items = [{"sku": "latte", "category": "coffee", "quantity": 1, "unit_amount": 450},
             {"sku": "mocha", "category": "coffee", "quantity": 1.5, "unit_amount": 450}]
    fields = field_errors(api.post("/v1/events", purchase(member["id"], items=items)))
    assert list(fields) == ["items"]
    assert list(fields["items"]) == ["1"]
    assert "quantity" in fields["items"]["1"]
    assert row_counts(app) == counts


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": -1}, "amount"),
    ({"items": [{"category": "coffee", "quantity": 0, "unit_amount": 450}]}, "items"),
    ({"items": [{"category": "coffee", "quantity": 1, "unit_amount": -450}]}, "items"),
])
def test_negative_amounts_are_validation_errors(api, app, member, counts, change, field):
    fields = field_errors(api.post("/v1/events", purchase(member["id"], **change)))
    assert field in fields
    if field == "amount":
        assert fields["amount"] == ["must be between 0 and 1000000000000 (minor units)"]
    assert row_counts(app) == counts


def test_purchase_without_amount_is_validation_error(api, app, member, counts):
    body = purchase(member["id"])
    del body["amount"]
    fields = field_errors(api.post("/v1/events", body))
    assert fields == {"amount": ["required for a purchase"]}
    assert row_counts(app) == counts


@pytest.mark.parametrize("currency", ["EUR", "usd", "US"])
def test_wrong_currency_is_validation_error(api, app, member, counts, currency):
    assert "currency" in field_errors(api.post("/v1/events", purchase(member["id"], currency=currency)))
    assert row_counts(app) == counts


def test_non_purchase_with_money_fields_is_validation_error(api, app, member, counts):
    body = {"type": "review", "member_id": member["id"], "amount": 100}
    assert "amount" in field_errors(api.post("/v1/events", body))
    assert row_counts(app) == counts


def test_event_without_member_is_validation_error(api, app, counts):
    body = purchase("x")
    del body["member_id"]
    assert "member_id" in field_errors(api.post("/v1/events", body))
    assert row_counts(app) == counts


def test_unknown_action_type_is_validation_error_naming_type(api, app, member, counts):
    fields = field_errors(api.post("/v1/events", {"type": "tweet", "member_id": member["id"]}))
    assert list(fields) == ["type"]
    assert "tweet" in fields["type"][0]
    assert row_counts(app) == counts


# --------------------------------------------------------------------------- occurred_at


@freeze_time(NOW)
@pytest.mark.parametrize(("occurred_at", "ok"), [
    ("2026-11-10T15:05:00Z", True),     # 5 minutes ahead: allowed
    ("2026-11-10T15:05:01Z", False),    # more than 5 minutes ahead
    ("2026-11-11T15:00:00Z", False),
    ("2026-08-12T15:00:00Z", True),     # 90 days ago: allowed
    ("2026-08-11T15:00:00Z", False),    # 91 days ago
    ("2026-11-10T10:00:00", False),     # no timezone
    ("2026-11-10", False),              # a date is not a timestamp
    ("2026-11-10T10:00:00-05:00", True),  # an explicit offset is fine
])
def test_occurred_at_must_be_aware_and_within_90_days_past_and_5_minutes_future(
        api, app, member, occurred_at, ok):
    counts = row_counts(app)
    response = api.post("/v1/events", purchase(member["id"], occurred_at=occurred_at))
    if ok:
        assert response.status_code == 201, response.get_json()
    else:
        assert "occurred_at" in field_errors(response)
        assert row_counts(app) == counts


# --------------------------------------------------------------------------- unknown things


def test_unknown_member_is_not_found(api, app, counts):
    assert_error(api.post("/v1/events", purchase("mem_doesnotexist")), 404, "not_found")
    assert_error(api.get("/v1/members/mem_doesnotexist"), 404, "not_found")
    assert_error(api.get("/v1/members/mem_doesnotexist/transactions"), 404, "not_found")
    assert_error(api.patch("/v1/members/mem_doesnotexist", {"phone": "555-0100"}), 404, "not_found")
    assert_error(api.post("/v1/events/preview", purchase("mem_doesnotexist")), 404, "not_found")
    assert row_counts(app) == counts


def test_unknown_external_id_is_not_found(api, app, member, counts):
    body = purchase(None, external_id="cust-unknown")
    del body["member_id"]
    error = assert_error(api.post("/v1/events", body), 404, "not_found")
    assert "cust-unknown" in error["message"]
    assert row_counts(app) == counts


def test_unknown_event_is_not_found(api, app, counts):
    assert_error(api.get("/v1/events/evt_doesnotexist"), 404, "not_found")
    assert_error(api.post("/v1/events/evt_doesnotexist/refunds", {"amount": 100}), 404, "not_found")
    assert row_counts(app) == counts


def test_unknown_member_adjustment_is_not_found(admin_api, app, counts):
    response = admin_api.post("/v1/members/mem_doesnotexist/adjustments", {"points": 5, "reason": "x"})
    assert_error(response, 404, "not_found")
    assert row_counts(app) == counts


# --------------------------------------------------------------------------- size


@pytest.mark.parametrize("path", ["/v1/events", "/v1/members"])
def test_body_over_256_kib_is_payload_too_large(api, app, member, counts, path):
    body = json.dumps(purchase(member["id"], store_id="x" * (256 * 1024)))
    response = api.client.post(path, data=body, content_type="application/json", headers=api.headers())
    assert_error(response, 413, "payload_too_large")
    assert row_counts(app) == counts


# --------------------------------------------------------------------------- members


@pytest.mark.parametrize(("field", "value"), [
    ("points", 1_000_000), ("balance", 1_000_000), ("tier", "gold"), ("status", "active"),
    ("lifetime_earned", 5), ("referral_code", "FREEPTS1"), ("id", "mem_mine"),
])
def test_enrolment_refuses_fields_it_does_not_take(api, app, counts, field, value):
    response = api.post("/v1/members", {"external_id": "cust-99", field: value})
    assert field in field_errors(response)
    assert row_counts(app) == counts
    assert api.get("/v1/members?external_id=cust-99").get_json()["data"] == []


@pytest.mark.parametrize(("field", "value"), [("balance", 10), ("tier", "gold"), ("points", 10)])
def test_patch_refuses_fields_it_does_not_take(api, app, member, counts, field, value):
    assert field in field_errors(api.patch(f"/v1/members/{member['id']}", {field: value}))
    assert row_counts(app) == counts
    assert api.member(member["id"])["points"]["balance"] == 50


@pytest.mark.parametrize("status", ["erased", "deleted", ""])
def test_patch_status_only_active_or_suspended(api, app, member, counts, status):
    assert "status" in field_errors(api.patch(f"/v1/members/{member['id']}", {"status": status}))
    assert api.member(member["id"])["status"] == "active"
    assert row_counts(app) == counts


@pytest.mark.parametrize(("body", "field"), [
    ({}, "external_id"),
    ({"external_id": ""}, "external_id"),
    ({"external_id": "c", "email": "not-an-email"}, "email"),
    ({"external_id": "c", "birthday": "31/12/1990"}, "birthday"),
    ({"external_id": "c", "email_opt_in": "maybe"}, "email_opt_in"),
    ({"external_id": "c", "channel": "fax"}, "channel"),
])
def test_enrolment_field_errors(api, app, counts, body, field):
    assert field in field_errors(api.post("/v1/members", body))
    assert row_counts(app) == counts


def test_enrolling_an_enrolled_external_id_is_member_exists(api, app, member, counts):
    error = assert_error(api.post("/v1/members", {"external_id": "cust-42"}), 409, "member_exists")
    assert error["details"] == {"member_id": member["id"]}
    assert row_counts(app) == counts


def test_unknown_referral_code_is_validation_error(api, app, counts):
    response = api.post("/v1/members", {"external_id": "cust-43", "referred_by": "NOSUCH99"})
    assert "referred_by" in field_errors(response)
    assert row_counts(app) == counts


def test_suspended_member_cannot_post_events(api, app, member):
    assert api.patch(f"/v1/members/{member['id']}", {"status": "suspended"}).status_code == 200
    counts = row_counts(app)
    assert_error(api.post("/v1/events", purchase(member["id"])), 409, "member_inactive")
    body = {"type": "review", "member_id": member["id"]}
    assert_error(api.post("/v1/events", body), 409, "member_inactive")
    assert row_counts(app) == counts


# --------------------------------------------------------------------------- adjustments, refunds


@pytest.mark.parametrize(("body", "field"), [
    ({"points": 10}, "reason"),
    ({"points": 10, "reason": ""}, "reason"),
    ({"points": 0, "reason": "nothing"}, "points"),
    ({"reason": "no points"}, "points"),
    ({"points": "10", "reason": "text"}, "points"),
    ({"points": 1.5, "reason": "fraction"}, "points"),
])
def test_adjustment_field_errors(admin_api, app, member, counts, body, field):
    response = admin_api.post(f"/v1/members/{member['id']}/adjustments", body)
    assert field in field_errors(response)
    assert row_counts(app) == counts


def test_refund_of_a_non_purchase_is_invalid_state(api, app, member):
    review = api.action(member["id"], "review")
    counts = row_counts(app)
    response = api.post(f"/v1/events/{review['event']['id']}/refunds", {"amount": 100})
    assert_error(response, 409, "invalid_state")
    assert row_counts(app) == counts


@pytest.mark.parametrize("body", [{"amount": 0}, {"amount": -5}, {"amount": "5"}, {}, {"amount": 5, "points": 1}])
def test_refund_field_errors(api, app, member, body):
    sale = api.purchase(member["id"], 1000)
    counts = row_counts(app)
    response = api.post(f"/v1/events/{sale['event']['id']}/refunds", body)
    fields = field_errors(response)
    assert set(fields) <= {"amount", "points"} and fields
    assert row_counts(app) == counts


# --------------------------------------------------------------------------- lists


BAD_CURSORS = [
    "not a cursor!",
    "e30",                                 # {}
    cursor_of(),                           # []
    cursor_of("x"),
    cursor_of("2026-11-10T15:00:00", "mem_x"),  # no timezone
    cursor_of(None, None),
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
@pytest.mark.parametrize("list_path", ["transactions", "members"])
def test_bad_cursor_is_validation_error(api, app, member, counts, cursor, list_path):
    path = f"/v1/members/{member['id']}/transactions" if list_path == "transactions" else "/v1/members"
    response = api.get(path, query_string={"cursor": cursor})
    assert "cursor" in field_errors(response)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
@pytest.mark.parametrize("list_path", ["transactions", "members"])
def test_limit_outside_1_to_100_is_validation_error(api, member, limit, list_path):
    path = f"/v1/members/{member['id']}/transactions" if list_path == "transactions" else "/v1/members"
    assert "limit" in field_errors(api.get(path, query_string={"limit": limit}))


def test_unknown_ledger_type_filter_is_validation_error(api, member):
    response = api.get(f"/v1/members/{member['id']}/transactions", query_string={"type": "gift"})
    assert "type" in field_errors(response)
