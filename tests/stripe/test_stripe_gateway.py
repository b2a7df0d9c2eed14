"""The Stripe gateway drives the real ``stripe`` library against a local server that plays Stripe."""

from datetime import UTC, datetime

import pytest

from loyalty.engine.rewards import Reward
from loyalty.errors import PaymentProviderFailed
from loyalty.integrations.stripe import PromotionCode, gateway_for
from tests.stripe.fakes import API_KEY, stripe_settings

FIVE_OFF = Reward(id="five-off", name="$5 off", description="", points_cost=500, type="fixed_discount",
                  value=500, currency="USD", stripe=True)
TEN_PERCENT = Reward(id="ten-percent", name="10% off one order", description="", points_cost=800,
                     type="percent_discount", value=10, stripe=True)
STORE_CREDIT = Reward(id="ten-credit", name="$10 store credit", description="", points_cost=1000,
                      type="store_credit", value=1000, currency="USD", stripe=True)
EXPIRES = datetime(2026, 12, 10, 15, tzinfo=UTC)


def issue(gateway, reward=FIVE_OFF, redemption_id="rdm_test0001", customer_id="cus_TaK9mW2xQ7vB4n"):
    return gateway.create_promotion_code(reward=reward, code="ABCDE-FGHJK", redemption_id=redemption_id,
                                         member_id="mem_test0001", customer_id=customer_id, expires_at=EXPIRES)


@pytest.mark.parametrize("settings", [{}, {"STRIPE_API_KEY": ""}, {"STRIPE_API_KEY": None}])
def test_without_an_api_key_there_is_no_gateway(settings):
    assert gateway_for(settings) is None


def test_the_app_talks_to_no_stripe_unless_configured(app):
    assert gateway_for(app.config) is None


def test_five_off_is_a_single_use_promotion_code_on_a_once_only_5_dollar_coupon(fake_stripe):
    promotion = issue(gateway_for(stripe_settings(fake_stripe)))
    coupon_call, code_call = fake_stripe.calls
    metadata = {"metadata[loyalty_redemption_id]": "rdm_test0001", "metadata[loyalty_member_id]": "mem_test0001",
                "metadata[loyalty_reward_id]": "five-off"}
    assert (coupon_call.method, coupon_call.path) == ("POST", "/v1/coupons")
    assert coupon_call.params == {"amount_off": "500", "currency": "usd", "duration": "once",
                                  "max_redemptions": "1", "name": "$5 off", **metadata}
    assert coupon_call.idempotency_key == "loyalty-rdm_test0001-coupon"
    assert coupon_call.authorization == f"Bearer {API_KEY}"
    coupon = fake_stripe.objects[promotion.coupon_id]
    assert code_call.path == "/v1/promotion_codes"
    assert code_call.params == {
        "promotion[type]": "coupon", "promotion[coupon]": coupon["id"], "code": "ABCDE-FGHJK",
        "max_redemptions": "1", "customer": "cus_TaK9mW2xQ7vB4n", "expires_at": str(int(EXPIRES.timestamp())),
        **metadata,
    }
    assert code_call.idempotency_key == "loyalty-rdm_test0001-promotion-code"
    [created] = [o for o in fake_stripe.objects.values() if o["object"] == "promotion_code"]
    assert promotion == PromotionCode(id=created["id"], coupon_id=coupon["id"])
    assert created["active"] is True


def test_a_percent_discount_for_anyone_is_a_percent_off_coupon_without_a_customer(fake_stripe):
    issue(gateway_for(stripe_settings(fake_stripe)), reward=TEN_PERCENT, customer_id=None)
    coupon_call, code_call = fake_stripe.calls
    assert coupon_call.params["percent_off"] == "10"
    assert "amount_off" not in coupon_call.params and "currency" not in coupon_call.params
    assert "customer" not in code_call.params


def test_issuing_again_for_the_same_redemption_creates_nothing_new(fake_stripe):
    gateway = gateway_for(stripe_settings(fake_stripe))
    assert issue(gateway) == issue(gateway)
    assert len(fake_stripe.objects) == 2
    assert issue(gateway, redemption_id="rdm_test0002") != issue(gateway)


def test_deactivating_turns_the_promotion_code_off(fake_stripe):
    gateway = gateway_for(stripe_settings(fake_stripe))
    promotion = issue(gateway)
    gateway.deactivate_promotion_code(promotion.id)
    call = fake_stripe.calls[-1]
    assert (call.path, call.params) == (f"/v1/promotion_codes/{promotion.id}", {"active": "false"})
    assert call.idempotency_key == f"loyalty-{promotion.id}-deactivate"
    assert fake_stripe.objects[promotion.id]["active"] is False


def test_deactivating_a_code_stripe_does_not_know_is_done_already(fake_stripe):
    gateway_for(stripe_settings(fake_stripe)).deactivate_promotion_code("promo_unknown")
    assert fake_stripe.calls[-1].path == "/v1/promotion_codes/promo_unknown"


def test_store_credit_is_a_customer_balance_credit(fake_stripe):
    gateway = gateway_for(stripe_settings(fake_stripe))
    transaction_id = gateway.credit_customer_balance(reward=STORE_CREDIT, customer_id="cus_TaK9mW2xQ7vB4n",
                                                     redemption_id="rdm_test0003", member_id="mem_test0001")
    call = fake_stripe.calls[-1]
    assert call.path == "/v1/customers/cus_TaK9mW2xQ7vB4n/balance_transactions"
    assert (call.params["amount"], call.params["currency"]) == ("-1000", "usd")
    assert call.idempotency_key == "loyalty-rdm_test0003-balance"
    assert fake_stripe.objects[transaction_id]["amount"] == -1000


@pytest.mark.parametrize("status", [500, 402, 429])
def test_a_stripe_error_is_a_payment_provider_failure(fake_stripe, status):
    fake_stripe.fail_with(status)
    with pytest.raises(PaymentProviderFailed) as failure:
        issue(gateway_for(stripe_settings(fake_stripe)))
    assert (failure.value.status, failure.value.code) == (502, "payment_provider_error")
    assert f"Stripe answered {status}" in failure.value.message
    assert failure.value.details["stripe_status"] == status
    assert len(fake_stripe.calls) == 1  # no retries: the till is waiting


def test_stripe_not_answering_in_time_is_a_payment_provider_failure(fake_stripe):
    fake_stripe.hang(1.0)
    with pytest.raises(PaymentProviderFailed) as failure:
        issue(gateway_for(stripe_settings(fake_stripe, timeout=0.25)))
    assert "did not answer in time" in failure.value.message


def test_a_failing_deactivation_is_a_payment_provider_failure(fake_stripe):
    gateway = gateway_for(stripe_settings(fake_stripe))
    promotion = issue(gateway)
    fake_stripe.fail_with(500)
    with pytest.raises(PaymentProviderFailed):
        gateway.deactivate_promotion_code(promotion.id)
    assert fake_stripe.objects[promotion.id]["active"] is True
