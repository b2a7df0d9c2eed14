"""Everything the service asks of Stripe: promotion codes for rewards, customer balance credits.

Every call carries an idempotency key derived from the redemption, so a retried
call never creates a second coupon or credit. When Stripe refuses, fails or
does not answer within ``STRIPE_TIMEOUT_SECONDS``, ``PaymentProviderFailed``
is raised; the caller's transaction then rolls back and no points move.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import stripe

from loyalty.engine.rewards import Reward
from loyalty.errors import PaymentProviderFailed

DEFAULT_API_BASE = "https://api.stripe.com"
DEFAULT_TIMEOUT_SECONDS = 10.0
COUPON_NAME_MAX = 40  # Stripe's limit on a coupon's name
AMOUNT_OFF_TYPES = ("fixed_discount", "store_credit")


@dataclass(frozen=True)
class PromotionCode:
    id: str
    coupon_id: str


def gateway_for(config: Mapping) -> "StripeGateway | None":
    """The gateway for these settings, or None when ``STRIPE_API_KEY`` is not set."""
    api_key = config.get("STRIPE_API_KEY")
    if not api_key:
        return None
    timeout = float(config.get("STRIPE_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS)
    return StripeGateway(_client(api_key, config.get("STRIPE_API_BASE") or DEFAULT_API_BASE, timeout))


@lru_cache(maxsize=8)
def _client(api_key: str, api_base: str, timeout: float) -> stripe.StripeClient:
    """One client per settings, so its HTTP sessions (one per thread) keep their connections.

    No network retries: a till is waiting, and a failed redemption can simply be
    tried again.
    """
    return stripe.StripeClient(
        api_key, base_addresses={"api": api_base}, max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


class StripeGateway:
    def __init__(self, client: stripe.StripeClient):
        self.client = client

    def create_promotion_code(self, *, reward: Reward, code: str, redemption_id: str, member_id: str,
                              customer_id: str | None, expires_at: datetime) -> PromotionCode:
        """A single-use promotion code, on a one-off coupon worth the reward, that ends with the redemption."""
        metadata = _metadata(redemption_id, member_id, reward.id)
        with _failures(f"create the promotion code for redemption {redemption_id}"):
            coupon = self.client.v1.coupons.create(
                {**_discount(reward), "duration": "once", "max_redemptions": 1,
                 "name": reward.name[:COUPON_NAME_MAX], "metadata": metadata},
                {"idempotency_key": f"loyalty-{redemption_id}-coupon"},
            )
            params = {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": code,
                      "max_redemptions": 1, "expires_at": int(expires_at.timestamp()), "metadata": metadata}
            if customer_id:
                params["customer"] = customer_id
            promotion_code = self.client.v1.promotion_codes.create(
                params, {"idempotency_key": f"loyalty-{redemption_id}-promotion-code"},
            )
        return PromotionCode(id=promotion_code.id, coupon_id=coupon.id)

    def deactivate_promotion_code(self, promotion_code_id: str) -> None:
        """A code Stripe no longer knows is as good as deactivated."""
        with _failures(f"deactivate promotion code {promotion_code_id}", missing_ok=True):
            self.client.v1.promotion_codes.update(
                promotion_code_id, {"active": False},
                {"idempotency_key": f"loyalty-{promotion_code_id}-deactivate"},
            )

    def promotion_codes_of_redemptions(self, created_from: datetime, created_to: datetime
                                       ) -> Iterator[tuple[str, str]]:
        """(promotion code id, redemption id) of each active code this service made, created in the window."""
        params = {"active": True, "limit": 100,
                  "created": {"gte": int(created_from.timestamp()), "lte": int(created_to.timestamp())}}
        with _failures("list promotion codes"):
            for code in self.client.v1.promotion_codes.list(params).auto_paging_iter():
                redemption_id = (code.to_dict().get("metadata") or {}).get("loyalty_redemption_id")
                if isinstance(redemption_id, str) and redemption_id:
                    yield code.id, redemption_id

    def credit_customer_balance(self, *, reward: Reward, customer_id: str, redemption_id: str,
                                member_id: str) -> str:
        """Store credit as a customer balance transaction (a negative amount is a credit);
        returns its id."""
        if reward.type != "store_credit" or reward.value is None or reward.currency is None:
            raise ValueError(f"reward {reward.id!r} is not store credit with a value and currency")
        with _failures(f"credit customer {customer_id} for redemption {redemption_id}"):
            transaction = self.client.v1.customers.balance_transactions.create(
                customer_id,
                {"amount": -reward.value, "currency": reward.currency.lower(),
                 "description": reward.name, "metadata": _metadata(redemption_id, member_id, reward.id)},
                {"idempotency_key": f"loyalty-{redemption_id}-balance"},
            )
        return transaction.id


def _discount(reward: Reward) -> dict:
    if reward.type in AMOUNT_OFF_TYPES and reward.value is not None and reward.currency:
        return {"amount_off": reward.value, "currency": reward.currency.lower()}
    if reward.type == "percent_discount" and reward.value is not None:
        return {"percent_off": reward.value}
    raise ValueError(f"reward {reward.id!r} ({reward.type}) has no value a Stripe coupon can carry")


def _metadata(redemption_id: str, member_id: str, reward_id: str) -> dict[str, str]:
    return {"loyalty_redemption_id": redemption_id, "loyalty_member_id": member_id,
            "loyalty_reward_id": reward_id}


@contextmanager
def _failures(doing: str, missing_ok: bool = False) -> Iterator[None]:
    """Any Stripe error, refusal or timeout becomes ``PaymentProviderFailed``."""
    try:
        yield
    except stripe.StripeError as error:
        if missing_ok and error.code == "resource_missing":
            return
        if isinstance(error, stripe.APIConnectionError):
            why = "Stripe could not be reached or did not answer in time"
        else:
            why = f"Stripe answered {error.http_status}: {error.user_message or 'no message'}"
        details = {"provider": "stripe", "stripe_status": error.http_status, "stripe_code": error.code,
                   "stripe_request_id": error.request_id}
        raise PaymentProviderFailed(f"Could not {doing}. {why}.",
                                    {k: v for k, v in details.items() if v is not None}) from error
