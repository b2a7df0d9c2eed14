"""Only what Stripe signed, within 5 minutes either way, gets in; anything else writes nothing."""

import hashlib
import hmac

import pytest
from freezegun import freeze_time

from tests.stripe.fakes import (
    NOW,
    WEBHOOK_SECRET,
    Payment,
    balances,
    checkout_event,
    counts,
    signature_header,
    stripe_body,
)

SIX_MINUTES = 6 * 60


def assert_invalid_signature(response):
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["error"]["code"] == "invalid_signature"
    assert set(body["error"]) == {"code", "message", "details"}


def stripe_scheme_header(body: str, secret: str, timestamp: int) -> str:
    """Stripe's documented scheme, written out independently of the library."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@freeze_time(NOW)
def test_the_library_helper_signs_exactly_as_stripe_documents(webhooks):
    body = stripe_body(checkout_event(Payment()))
    timestamp = 1794322800
    assert signature_header(body, WEBHOOK_SECRET, timestamp) == stripe_scheme_header(body, WEBHOOK_SECRET, timestamp)


@freeze_time(NOW)
def test_an_event_signed_with_stripes_scheme_is_accepted(app, api, webhooks, db_backend):
    member = api.enroll(email="ana@example.com")
    body = stripe_body(checkout_event(Payment(), metadata={"loyalty_member_id": member["id"]}))
    now = 1794322800
    response = webhooks.deliver(body=body, signature=stripe_scheme_header(body, WEBHOOK_SECRET, now))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "processed"


def _tampered(body, now):
    tampered = body.replace('"amount_total": 1250', '"amount_total": 9250')
    assert tampered != body
    return tampered, signature_header(body, timestamp=now)


BAD_DELIVERIES = {
    "tampered body": _tampered,
    "wrong secret": lambda body, now: (body, signature_header(body, "whsec_someone_else", now)),
    "6 minutes old": lambda body, now: (body, signature_header(body, timestamp=now - SIX_MINUTES)),
    "6 minutes ahead": lambda body, now: (body, signature_header(body, timestamp=now + SIX_MINUTES)),
    "no signature": lambda body, now: (body, ""),
    "not a signature": lambda body, now: (body, "sha256=deadbeef"),
    "no v1 signature": lambda body, now: (body, signature_header(body, timestamp=now).replace("v1=", "v0=")),
    "signature of another timestamp": lambda body, now: (
        body, signature_header(body, timestamp=now).replace(f"t={now}", f"t={now - 1}")),
}


@freeze_time(NOW)
@pytest.mark.parametrize("case", BAD_DELIVERIES)
def test_a_delivery_stripe_did_not_sign_just_now_is_refused_and_writes_nothing(app, api, webhooks, db_backend,
                                                                                 case):
    member = api.enroll(email="ana@example.com")
    before, balances_before = counts(app), balances(app)
    body = stripe_body(checkout_event(Payment(), metadata={"loyalty_member_id": member["id"]}))
    sent_body, signature = BAD_DELIVERIES[case](body, 1794322800)
    assert_invalid_signature(webhooks.deliver(body=sent_body, signature=signature))
    assert counts(app) == before
    assert counts(app)["stripe_events"] == 0
    assert balances(app) == balances_before


@freeze_time(NOW)
@pytest.mark.parametrize("offset", [-4 * 60, 4 * 60], ids=["4 minutes old", "4 minutes ahead"])
def test_a_signature_within_5_minutes_either_way_is_accepted(app, api, webhooks, offset):
    member = api.enroll(email="ana@example.com")
    event = checkout_event(Payment(), metadata={"loyalty_member_id": member["id"]})
    response = webhooks.deliver(event, timestamp=1794322800 + offset)
    assert response.status_code == 200, response.get_json()
    assert api.member(member["id"])["points"]["balance"] == 50 + 12


@freeze_time(NOW)
def test_without_a_webhook_secret_nothing_is_accepted(app, webhooks):
    app.config["STRIPE_WEBHOOK_SECRET"] = None
    assert_invalid_signature(webhooks.deliver(checkout_event(Payment())))
    assert counts(app)["stripe_events"] == 0


@freeze_time(NOW)
@pytest.mark.parametrize("body", ['{"id": "evt_1", "type": "x"}', "[1, 2]", "not json"])
def test_a_signed_body_that_is_not_a_stripe_event_is_a_bad_request(app, webhooks, body):
    response = webhooks.deliver(body=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    assert counts(app)["stripe_events"] == 0


def test_the_webhook_is_documented_without_api_key_auth(app):
    spec = app.test_client().get("/openapi.json").get_json()
    operation = spec["paths"]["/v1/webhooks/stripe"]["post"]
    assert operation["security"] == []
    assert [p["name"] for p in operation["parameters"]] == ["Stripe-Signature"]
    assert "400" in operation["responses"]
