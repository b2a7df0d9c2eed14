"""Stripe on both sides, for real: signed webhook deliveries in, a local server playing Stripe out.

Webhook bodies are the fixtures in ``fixtures/`` (shaped like Stripe's own
events), serialized the way Stripe sends them and signed with Stripe's scheme
(``t=<unix>,v1=<HMAC-SHA256 of "t.body">``). Outgoing calls go through the
real ``stripe`` library to ``FakeStripe``, a pytest-httpserver that answers
like the Stripe API (including idempotency keys) and records what it was asked.
"""

import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import sqlalchemy as sa
import stripe
from werkzeug import Request, Response

from loyalty import clock
from loyalty.extensions import db
from loyalty.models import Event, LedgerEntry, Member, StripeEvent

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_SECRET = "whsec_test_5f0c1b9a7e3d4c2b8a6f0e1d2c3b4a59"
API_KEY = "sk_test_51SaFakeKeyForTheLocalStripeServer"
NOW = "2026-11-10T15:00:00Z"  # a Tuesday outside the holiday-double window


def fixture_event(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _stripe_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class Payment:
    """One customer payment as Stripe knows it: a checkout session, its payment intent and charge."""

    session_id: str = field(default_factory=lambda: "cs_test_" + secrets.token_hex(24))
    payment_intent: str = field(default_factory=lambda: _stripe_id("pi"))
    charge_id: str = field(default_factory=lambda: _stripe_id("ch"))
    amount: int = 1250


def checkout_event(payment: Payment, *, email: str | None = "ana@example.com", customer: str | None = None,
                   client_reference_id: str | None = None, metadata: dict | None = None,
                   payment_status: str = "paid", currency: str = "usd", created: int | None = None,
                   event_type: str = "checkout.session.completed") -> dict:
    event = fixture_event("checkout.session.completed")
    event.update(id=_stripe_id("evt"), type=event_type, created=created or _now())
    session = event["data"]["object"]
    session.update(
        id=payment.session_id, payment_intent=payment.payment_intent, amount_subtotal=payment.amount,
        amount_total=payment.amount, currency=currency, customer=customer,
        client_reference_id=client_reference_id, metadata=metadata or {}, payment_status=payment_status,
    )
    session["customer_details"]["email"] = email
    session["presentment_details"].update(presentment_amount=payment.amount, presentment_currency=currency)
    return event


def refund_event(payment: Payment, amount_refunded: int, created: int | None = None) -> dict:
    """``charge.refunded``: Stripe reports the charge's refunds so far, cumulatively."""
    event = fixture_event("charge.refunded")
    event.update(id=_stripe_id("evt"), created=created or _now())
    charge = event["data"]["object"]
    charge.update(id=payment.charge_id, payment_intent=payment.payment_intent, amount=payment.amount,
                  amount_captured=payment.amount, amount_refunded=amount_refunded,
                  refunded=amount_refunded >= payment.amount)
    return event


def other_event(name: str = "customer.created") -> dict:
    event = fixture_event(name)
    event.update(id=_stripe_id("evt"), created=_now())
    return event


def _now() -> int:
    return int(clock.now().timestamp())


def stripe_body(event: dict) -> str:
    """Stripe sends its events pretty-printed."""
    return json.dumps(event, indent=2)


def signature_header(body: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp or _now())


class Webhooks:
    """Delivers events to ``POST /v1/webhooks/stripe`` the way Stripe does."""

    def __init__(self, app):
        self.app = app

    def deliver(self, event: dict | None = None, *, body: str | None = None, secret: str = WEBHOOK_SECRET,
                timestamp: int | None = None, signature: str | None = None, client=None):
        body = body if body is not None else stripe_body(event)
        headers = {"Stripe-Signature": signature if signature is not None
                   else signature_header(body, secret, timestamp)}
        return (client or self.app.test_client()).post(
            "/v1/webhooks/stripe", data=body.encode(), headers=headers,
            content_type="application/json; charset=utf-8",
        )

    def accepted(self, event: dict) -> dict:
        response = self.deliver(event)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


# --------------------------------------------------------------------------- reading the database


def counts(app) -> dict[str, int]:
    with app.app_context():
        session = db.session()
        result = {model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model))
                  for model in (StripeEvent, Event, LedgerEntry)}
        db.session.remove()
    return result


def stripe_event_row(app, event_id: str) -> StripeEvent | None:
    with app.app_context():
        row = db.session.get(StripeEvent, event_id)
        db.session.remove()
    return row


def purchase_for(app, source_id: str) -> Event | None:
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.source_id == source_id))
        db.session.remove()
    return event


def balances(app) -> dict[str, int]:
    with app.app_context():
        result = dict(db.session.execute(sa.select(Member.id, Member.balance)).all())
        db.session.remove()
    return result


# --------------------------------------------------------------------------- Stripe out


@dataclass
class StripeCall:
    method: str
    path: str
    params: dict
    idempotency_key: str | None
    authorization: str | None


class FakeStripe:
    """The parts of the Stripe API this service calls, on a local HTTP server.

    Like Stripe, a POST repeated with the same ``Idempotency-Key`` gets the first
    answer again. ``fail_with(status)`` and ``hang(seconds)`` make it misbehave.
    The server answers one request at a time and outlives the test, so a test
    that made it hang must ``wait_until_idle()`` before the next test calls it.
    """

    def __init__(self, server):
        self.server = server
        self.calls: list[StripeCall] = []
        self.objects: dict[str, dict] = {}
        self.answers: dict[str, tuple[int, dict]] = {}
        self.failure: int | None = None
        self.delay = 0.0
        self._busy = threading.Lock()
        server.expect_request(re.compile(r"^/v1/.*"), method="POST").respond_with_handler(self._handle)
        server.expect_request("/v1/promotion_codes", method="GET").respond_with_handler(self._list_promotion_codes)

    @property
    def base_url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def fail_with(self, status: int | None) -> None:
        self.failure = status

    def hang(self, seconds: float) -> None:
        self.delay = seconds

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        if not self._busy.acquire(timeout=timeout):
            raise AssertionError(f"the fake Stripe was still answering after {timeout} s")
        self._busy.release()

    def calls_to(self, pattern: str) -> list[StripeCall]:
        return [c for c in self.calls if re.fullmatch(pattern, c.path)]

    def _handle(self, request: Request) -> Response:
        with self._busy:
            return self._handle_one(request)

    def _handle_one(self, request: Request) -> Response:
        call = StripeCall(request.method, request.path, dict(parse_qsl(request.get_data(as_text=True))),
                          request.headers.get("Idempotency-Key"), request.headers.get("Authorization"))
        self.calls.append(call)
        if self.delay:
            time.sleep(self.delay)
        if self.failure:
            return self._json(self.failure, {"error": {
                "type": "api_error", "message": "An unknown error occurred (the fake Stripe was told to fail)."}})
        if call.idempotency_key in self.answers:
            return self._json(*self.answers[call.idempotency_key])
        status, body = self._answer(call)
        if call.idempotency_key:
            self.answers[call.idempotency_key] = (status, body)
        return self._json(status, body)

    def _answer(self, call: StripeCall) -> tuple[int, dict]:
        params = call.params
        metadata = {k[len("metadata["):-1]: v for k, v in params.items() if k.startswith("metadata[")}
        if call.path == "/v1/coupons":
            coupon = {"id": secrets.token_hex(4), "object": "coupon", "duration": params.get("duration"),
                      "amount_off": _int(params.get("amount_off")), "currency": params.get("currency"),
                      "percent_off": _number(params.get("percent_off")), "name": params.get("name"),
                      "max_redemptions": _int(params.get("max_redemptions")), "metadata": metadata,
                      "valid": True, "livemode": False, "times_redeemed": 0}
            return self._store(coupon)
        if call.path == "/v1/promotion_codes":
            coupon_id = params.get("promotion[coupon]")
            if coupon_id not in self.objects:
                return 400, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                       "message": f"No such coupon: '{coupon_id}'"}}
            promotion_code = {"id": _stripe_id("promo"), "object": "promotion_code", "active": True,
                              "code": params.get("code"), "customer": params.get("customer"),
                              "expires_at": _int(params.get("expires_at")),
                              "max_redemptions": _int(params.get("max_redemptions")), "metadata": metadata,
                              "promotion": {"type": "coupon", "coupon": coupon_id}, "times_redeemed": 0,
                              "livemode": False, "created": int(time.time())}
            return self._store(promotion_code)
        if match := re.fullmatch(r"/v1/promotion_codes/([^/]+)", call.path):
            promotion_code = self.objects.get(match[1])
            if promotion_code is None:
                return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                       "message": f"No such promotion code: '{match[1]}'"}}
            if "active" in params:
                promotion_code["active"] = params["active"] == "true"
            return 200, promotion_code
        if match := re.fullmatch(r"/v1/customers/([^/]+)/balance_transactions", call.path):
            transaction = {"id": _stripe_id("cbtxn"), "object": "customer_balance_transaction",
                           "amount": _int(params.get("amount")), "currency": params.get("currency"),
                           "customer": match[1], "description": params.get("description"),
                           "metadata": metadata, "type": "adjustment", "livemode": False}
            return self._store(transaction)
        return 404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {call.path}"}}

    def _list_promotion_codes(self, request: Request) -> Response:
        """GET /v1/promotion_codes: ``active``, ``created[gte]``/``created[lte]``, ``limit``, ``starting_after``;
        newest first, as Stripe lists."""
        args = request.args
        self.calls.append(StripeCall("GET", request.path, dict(args), None, request.headers.get("Authorization")))
        codes = sorted((o for o in self.objects.values() if o["object"] == "promotion_code"),
                       key=lambda o: (o["created"], o["id"]), reverse=True)
        if "active" in args:
            codes = [c for c in codes if c["active"] == (args["active"] == "true")]
        if "created[gte]" in args:
            codes = [c for c in codes if c["created"] >= int(args["created[gte]"])]
        if "created[lte]" in args:
            codes = [c for c in codes if c["created"] <= int(args["created[lte]"])]
        if "starting_after" in args:
            ids = [c["id"] for c in codes]
            codes = codes[ids.index(args["starting_after"]) + 1:] if args["starting_after"] in ids else []
        limit = int(args.get("limit", 10))
        return self._json(200, {"object": "list", "url": "/v1/promotion_codes", "data": codes[:limit],
                                "has_more": len(codes) > limit})

    def _store(self, obj: dict) -> tuple[int, dict]:
        self.objects[obj["id"]] = obj
        return 200, obj

    @staticmethod
    def _json(status: int, body: dict) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json",
                        headers={"Request-Id": f"req_{uuid.uuid4().hex[:14]}"})


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def _number(value: str | None) -> float | None:
    return float(value) if value is not None else None


def stripe_settings(fake: FakeStripe, timeout: float = 2.0) -> dict:
    return {"STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": fake.base_url, "STRIPE_TIMEOUT_SECONDS": timeout}
