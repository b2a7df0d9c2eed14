"""Paid checkouts earn like any purchase; refunds reverse in proportion; each Stripe event counts once.

Figures from the demo program: a Member-tier member earns 1 point per whole
dollar, so a $12.50 checkout earns 12, and a $5.00 refund reverses
floor(12 × 500 / 1250) = 4. Enrolling earns the 50-point welcome bonus.
"""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from tests.concurrency.racing import run_together
from tests.stripe.fakes import (
    NOW,
    Payment,
    checkout_event,
    counts,
    other_event,
    purchase_for,
    refund_event,
    stripe_event_row,
)

WELCOME = 50
FROZEN = datetime(2026, 11, 10, 15, tzinfo=UTC)


def balance(api, member_id: str) -> int:
    return api.member(member_id)["points"]["balance"]


def ledger(api, member_id: str) -> list[dict]:
    response = api.get(f"/v1/members/{member_id}/transactions?limit=100")
    assert response.status_code == 200
    return response.get_json()["data"]


def paid_by(member: dict, payment: Payment, **fields) -> dict:
    return checkout_event(payment, metadata={"loyalty_member_id": member["id"]}, **fields)


@freeze_time(NOW)
def test_a_paid_checkout_earns_12_points_and_a_5_dollar_refund_reverses_4(app, api, webhooks, db_backend):
    member = api.enroll(email="ana@example.com")
    payment = Payment(amount=1250)
    checkout = paid_by(member, payment)
    receipt = webhooks.accepted(checkout)
    assert receipt["status"] == "processed" and receipt["duplicate"] is False
    assert receipt["member_id"] == member["id"]
    assert balance(api, member["id"]) == WELCOME + 12

    purchase = api.get(f"/v1/events/{receipt['event_id']}").get_json()
    assert purchase["source_id"] == payment.payment_intent
    assert (purchase["type"], purchase["amount"], purchase["currency"], purchase["channel"]) == (
        "purchase", 1250, "USD", "stripe")
    assert purchase["occurred_at"] == datetime.fromtimestamp(checkout["created"], UTC).isoformat().replace(
        "+00:00", "Z")
    assert [(a["rule_id"], a["points"]) for a in purchase["awarded"]] == [("spend", 12)]

    refund = webhooks.accepted(refund_event(payment, amount_refunded=500))
    assert refund["status"] == "processed" and refund["event_id"] == receipt["event_id"]
    assert balance(api, member["id"]) == WELCOME + 12 - 4
    reversal = ledger(api, member["id"])[0]
    assert (reversal["type"], reversal["points"], reversal["event_id"]) == ("reverse", -4, receipt["event_id"])


@freeze_time(NOW)
def test_refunds_are_cumulative_in_stripe_so_only_the_difference_is_refunded(app, api, webhooks, db_backend):
    member = api.enroll()
    payment = Payment(amount=1250)
    webhooks.accepted(paid_by(member, payment))
    webhooks.accepted(refund_event(payment, amount_refunded=500))
    assert balance(api, member["id"]) == WELCOME + 8
    webhooks.accepted(refund_event(payment, amount_refunded=1250))  # the rest: 750 more
    assert balance(api, member["id"]) == WELCOME
    late = webhooks.accepted(refund_event(payment, amount_refunded=500))  # an older total arriving late
    assert late["status"] == "processed" and "Nothing more to refund" in late["reason"]
    assert balance(api, member["id"]) == WELCOME
    assert purchase_for(app, payment.payment_intent).refunded_amount == 1250


@freeze_time(NOW)
def test_the_same_checkout_delivered_three_times_awards_once(app, api, webhooks, db_backend):
    member = api.enroll()
    event = paid_by(member, Payment())
    receipts = [webhooks.accepted(event) for _ in range(3)]
    assert [r["duplicate"] for r in receipts] == [False, True, True]
    assert {r["status"] for r in receipts} == {"processed"}
    assert len({r["event_id"] for r in receipts}) == 1
    assert balance(api, member["id"]) == WELCOME + 12
    assert [e["points"] for e in ledger(api, member["id"]) if e["rule_id"] == "spend"] == [12]
    assert counts(app)["stripe_events"] == 1


@freeze_time(NOW)
def test_the_same_refund_delivered_three_times_reverses_once(app, api, webhooks, db_backend):
    member = api.enroll()
    payment = Payment()
    webhooks.accepted(paid_by(member, payment))
    refund = refund_event(payment, amount_refunded=500)
    assert [webhooks.accepted(refund)["duplicate"] for _ in range(3)] == [False, True, True]
    assert balance(api, member["id"]) == WELCOME + 12 - 4


@freeze_time(NOW)
def test_racing_deliveries_of_one_event_award_once(app, api, pos_key, webhooks, db_backend):
    member = api.enroll()
    event = paid_by(member, Payment())
    responses = run_together(app, pos_key, [lambda client: webhooks.deliver(event, client=client.client)] * 6)
    assert [r.status_code for r in responses] == [200] * 6
    assert sorted(r.get_json()["duplicate"] for r in responses) == [False] + [True] * 5
    assert balance(api, member["id"]) == WELCOME + 12
    assert counts(app)["stripe_events"] == 1


@freeze_time(NOW)
def test_a_refund_before_its_checkout_waits_and_applies_when_the_checkout_arrives(
        app, api, admin_api, webhooks, db_backend):
    member = api.enroll()
    payment = Payment(amount=1250)
    refund = webhooks.accepted(refund_event(payment, amount_refunded=500))
    assert refund["status"] == "pending"
    assert balance(api, member["id"]) == WELCOME
    waiting = admin_api.get("/v1/stripe/unmatched?status=pending").get_json()["data"]
    assert [(w["id"], w["source_id"], w["amount"]) for w in waiting] == [
        (refund["id"], payment.payment_intent, 500)]

    checkout = webhooks.accepted(paid_by(member, payment))
    assert checkout["status"] == "processed"
    assert balance(api, member["id"]) == WELCOME + 12 - 4
    row = stripe_event_row(app, refund["id"])
    assert (row.status, row.event_id, row.member_id) == ("processed", checkout["event_id"], member["id"])
    assert admin_api.get("/v1/stripe/unmatched?status=pending").get_json()["data"] == []


@freeze_time(NOW)
def test_a_refund_racing_its_checkout_is_never_left_waiting(app, api, pos_key, webhooks, db_backend):
    member = api.enroll()
    payments = [Payment(amount=1250) for _ in range(4)]
    deliveries = [event for p in payments for event in (paid_by(member, p), refund_event(p, amount_refunded=500))]
    responses = run_together(app, pos_key, [
        lambda client, event=event: webhooks.deliver(event, client=client.client) for event in deliveries])
    assert [r.status_code for r in responses] == [200] * len(deliveries)
    assert [purchase_for(app, p.payment_intent).reversed_points for p in payments] == [4] * len(payments)
    assert balance(api, member["id"]) == WELCOME + len(payments) * (12 - 4)


@freeze_time(NOW)
def test_several_refunds_before_the_checkout_apply_their_largest_total(app, api, webhooks, db_backend):
    member = api.enroll()
    payment = Payment(amount=1250)
    webhooks.accepted(refund_event(payment, amount_refunded=1250))
    webhooks.accepted(refund_event(payment, amount_refunded=500))  # the earlier refund, delivered late
    webhooks.accepted(paid_by(member, payment))
    assert balance(api, member["id"]) == WELCOME
    assert purchase_for(app, payment.payment_intent).reversed_points == 12


@freeze_time(NOW)
def test_an_unpaid_checkout_earns_when_its_async_payment_succeeds(app, api, webhooks):
    member = api.enroll()
    payment = Payment()
    unpaid = webhooks.accepted(paid_by(member, payment, payment_status="unpaid"))
    assert unpaid["status"] == "ignored" and "unpaid" in unpaid["reason"]
    assert balance(api, member["id"]) == WELCOME
    paid = webhooks.accepted(paid_by(member, payment, event_type="checkout.session.async_payment_succeeded"))
    assert paid["status"] == "processed"
    assert balance(api, member["id"]) == WELCOME + 12


@freeze_time(NOW)
def test_a_payment_recorded_already_is_not_recorded_again_by_another_event(app, api, webhooks):
    member = api.enroll()
    payment = Payment()
    first = webhooks.accepted(paid_by(member, payment))
    again = webhooks.accepted(paid_by(member, payment, event_type="checkout.session.async_payment_succeeded"))
    assert again["status"] == "ignored" and again["event_id"] == first["event_id"]
    assert balance(api, member["id"]) == WELCOME + 12


@freeze_time(NOW)
@pytest.mark.parametrize(("created", "occurred"), [
    (FROZEN - timedelta(days=100), FROZEN - timedelta(days=90)),
    (FROZEN + timedelta(hours=1), FROZEN),
    (FROZEN - timedelta(days=3), FROZEN - timedelta(days=3)),
], ids=["100 days old", "an hour ahead", "3 days old"])
def test_occurred_at_is_the_events_created_time_kept_within_what_accrual_accepts(app, api, webhooks, created,
                                                                                  occurred):
    member = api.enroll()
    payment = Payment()
    receipt = webhooks.accepted(paid_by(member, payment, created=int(created.timestamp())))
    assert receipt["status"] == "processed", receipt
    assert purchase_for(app, payment.payment_intent).occurred_at == occurred


@freeze_time(NOW)
def test_a_checkout_in_another_currency_is_rejected_and_listed(app, api, admin_api, webhooks):
    member = api.enroll()
    receipt = webhooks.accepted(paid_by(member, Payment(), currency="eur"))
    assert receipt["status"] == "rejected"
    assert "currency: the program runs in USD, not EUR" in receipt["reason"]
    assert balance(api, member["id"]) == WELCOME
    listed = admin_api.get("/v1/stripe/unmatched").get_json()["data"]
    assert [(e["id"], e["status"], e["currency"]) for e in listed] == [(receipt["id"], "rejected", "EUR")]


@freeze_time(NOW)
def test_a_suspended_members_checkout_is_rejected_and_earns_nothing(app, api, webhooks, db_backend):
    member = api.enroll()
    assert api.patch(f"/v1/members/{member['id']}", {"status": "suspended"}).status_code == 200
    receipt = webhooks.accepted(paid_by(member, Payment()))
    assert (receipt["status"], receipt["member_id"]) == ("rejected", member["id"])
    assert "suspended" in receipt["reason"]
    assert balance(api, member["id"]) == WELCOME


@freeze_time(NOW)
def test_an_unhandled_event_type_answers_200_and_is_recorded(app, webhooks):
    event = other_event("customer.created")
    receipt = webhooks.accepted(event)
    assert (receipt["id"], receipt["status"], receipt["duplicate"]) == (event["id"], "unhandled", False)
    assert webhooks.accepted(event)["duplicate"] is True
    assert counts(app)["stripe_events"] == 1
