"""A Stripe delivery captured off the wire and sent again: it never counts twice.

An attacker who sees one signed delivery (a leaked log, a proxy) holds a body
and a valid ``Stripe-Signature``. Replayed within Stripe's 5-minute tolerance
it is a duplicate of an event already recorded; replayed later it is refused;
and the signature does not carry over to a body edited to look like a new event.
"""

import json

from freezegun import freeze_time

from tests.stripe.fakes import (
    WEBHOOK_SECRET,
    Payment,
    Webhooks,
    balances,
    checkout_event,
    counts,
    signature_header,
    stripe_body,
)

SIGNED_AT = "2026-11-10T15:00:00Z"
ONE_MINUTE_LATER = "2026-11-10T15:01:00Z"
SIX_MINUTES_LATER = "2026-11-10T15:06:00Z"


def replay(webhooks: Webhooks, body: str, signature: str):
    """Exactly these bytes, exactly this header."""
    return webhooks.deliver(body=body, signature=signature)


def test_a_captured_delivery_replayed_counts_once_and_goes_stale_after_5_minutes(app, api, db_backend):
    app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    webhooks = Webhooks(app)
    with freeze_time(SIGNED_AT):
        member = api.enroll(email="ana@example.com")
        event = checkout_event(Payment(), metadata={"loyalty_member_id": member["id"]})
        body, signature = stripe_body(event), signature_header(stripe_body(event))
        first = replay(webhooks, body, signature)
        assert first.status_code == 200 and first.get_json()["duplicate"] is False
    recorded, points = counts(app), balances(app)
    assert points[member["id"]] == 50 + 12

    with freeze_time(ONE_MINUTE_LATER):
        again = replay(webhooks, body, signature)
        assert again.status_code == 200 and again.get_json()["duplicate"] is True
        renamed = json.loads(body) | {"id": "evt_replayed0000000000000000"}
        forged = replay(webhooks, stripe_body(renamed), signature)
        assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "invalid_signature"
    with freeze_time(SIX_MINUTES_LATER):
        stale = replay(webhooks, body, signature)
        assert stale.status_code == 400 and stale.get_json()["error"]["code"] == "invalid_signature"

    assert counts(app) == recorded
    assert balances(app) == points
