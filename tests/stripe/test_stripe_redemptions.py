"""Redeeming `five-off` (stripe: true) with Stripe connected: a real promotion code, or no points move.

The member gets 600 points by adjustment on top of the 50-point welcome bonus,
so five-off (500) leaves 150.
"""

from datetime import datetime

import pytest

from tests.stripe.fakes import stripe_settings

CUSTOMER = "cus_TaK9mW2xQ7vB4n"
START = 50 + 600


@pytest.fixture
def stripe_api(app, api, fake_stripe):
    """The POS client, with the app connected to the fake Stripe (a short timeout for the hang tests)."""
    app.config.update(stripe_settings(fake_stripe, timeout=0.5))
    return api


@pytest.fixture
def member(stripe_api, admin_api):
    member = stripe_api.enroll(stripe_customer_id=CUSTOMER)
    response = admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": 600, "reason": "test points"})
    assert response.status_code == 201, response.get_json()
    return member


def redeem(api, member_id, reward_id="five-off", idempotency_key=None):
    return api.post(f"/v1/members/{member_id}/redemptions", {"reward_id": reward_id},
                    idempotency_key=idempotency_key)


def points_and_ledger(api, member_id):
    balance = api.member(member_id)["points"]["balance"]
    ledger = api.get(f"/v1/members/{member_id}/transactions?limit=100").get_json()["data"]
    return balance, [(e["id"], e["type"], e["points"]) for e in ledger]


def redemptions_of(api, member_id):
    return api.get(f"/v1/members/{member_id}/redemptions").get_json()["data"]


def test_redeeming_five_off_issues_a_stripe_promotion_code(stripe_api, member, fake_stripe, db_backend):
    response = redeem(stripe_api, member["id"])
    assert response.status_code == 201, response.get_json()
    redemption = response.get_json()
    promotion_code = fake_stripe.objects[redemption["stripe_promotion_code"]]
    coupon = fake_stripe.objects[promotion_code["promotion"]["coupon"]]
    assert (coupon["amount_off"], coupon["currency"], coupon["duration"]) == (500, "usd", "once")
    assert (promotion_code["code"], promotion_code["customer"], promotion_code["max_redemptions"]) == (
        redemption["code"], CUSTOMER, 1)
    expires_at = datetime.fromisoformat(redemption["expires_at"].replace("Z", "+00:00"))
    assert promotion_code["expires_at"] == int(expires_at.timestamp())
    assert promotion_code["metadata"] == {"loyalty_redemption_id": redemption["id"],
                                          "loyalty_member_id": member["id"], "loyalty_reward_id": "five-off"}
    assert {c.idempotency_key for c in fake_stripe.calls} == {
        f"loyalty-{redemption['id']}-coupon", f"loyalty-{redemption['id']}-promotion-code"}
    assert stripe_api.member(member["id"])["points"]["balance"] == START - 500


def test_voiding_deactivates_the_promotion_code(stripe_api, member, fake_stripe, db_backend):
    redemption = redeem(stripe_api, member["id"]).get_json()
    response = stripe_api.post(f"/v1/redemptions/{redemption['id']}/void")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "voided"
    assert fake_stripe.objects[redemption["stripe_promotion_code"]]["active"] is False
    assert stripe_api.member(member["id"])["points"]["balance"] == START


@pytest.mark.parametrize("failure", ["500", "timeout"])
def test_when_stripe_fails_the_redemption_fails_and_no_points_move(stripe_api, member, fake_stripe, db_backend,
                                                                   failure):
    before = points_and_ledger(stripe_api, member["id"])
    if failure == "500":
        fake_stripe.fail_with(500)
    else:
        fake_stripe.hang(1.5)
    response = redeem(stripe_api, member["id"])
    assert response.status_code == 502, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "payment_provider_error"
    assert "Stripe" in error["message"]
    assert fake_stripe.calls  # Stripe really was asked
    assert points_and_ledger(stripe_api, member["id"]) == before
    assert redemptions_of(stripe_api, member["id"]) == []


def test_a_redemption_that_failed_at_stripe_can_be_retried_with_the_same_key(stripe_api, member, fake_stripe):
    fake_stripe.fail_with(500)
    assert redeem(stripe_api, member["id"], idempotency_key="till-1/redeem-77").status_code == 502
    fake_stripe.fail_with(None)
    retried = redeem(stripe_api, member["id"], idempotency_key="till-1/redeem-77")
    assert retried.status_code == 201, retried.get_json()
    assert retried.headers.get("Idempotent-Replayed") is None
    assert retried.get_json()["stripe_promotion_code"] in fake_stripe.objects
    assert stripe_api.member(member["id"])["points"]["balance"] == START - 500


def test_when_stripe_fails_a_void_fails_and_the_points_stay_spent(stripe_api, member, fake_stripe, db_backend):
    redemption = redeem(stripe_api, member["id"]).get_json()
    before = points_and_ledger(stripe_api, member["id"])
    fake_stripe.fail_with(500)
    response = stripe_api.post(f"/v1/redemptions/{redemption['id']}/void")
    assert response.status_code == 502
    assert response.get_json()["error"]["code"] == "payment_provider_error"
    assert points_and_ledger(stripe_api, member["id"]) == before
    assert stripe_api.get(f"/v1/redemptions/{redemption['id']}").get_json()["status"] == "issued"
    assert fake_stripe.objects[redemption["stripe_promotion_code"]]["active"] is True


def test_rewards_not_marked_stripe_never_call_stripe(stripe_api, member, fake_stripe):
    response = redeem(stripe_api, member["id"], reward_id="free-drink")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["stripe_promotion_code"] is None
    assert fake_stripe.calls == []


def test_without_an_api_key_five_off_is_a_plain_code(app, api, admin_api, fake_stripe):
    member = api.enroll(stripe_customer_id=CUSTOMER)
    admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": 600, "reason": "test points"})
    response = redeem(api, member["id"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["stripe_promotion_code"] is None
    assert fake_stripe.calls == []
