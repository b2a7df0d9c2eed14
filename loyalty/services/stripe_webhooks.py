"""Stripe webhooks in: paid checkouts earn points, refunds reverse them.

An event is claimed by inserting its row, keyed by Stripe's event id, so a
redelivery (even one racing the first delivery) changes nothing. Events that
change no points (no member matches, a type this service does not act on, a
refund whose checkout has not arrived yet) are recorded with a status and a
reason for an operator to see. The caller runs ``handle`` in one write
transaction: the event row and every point it moves commit together.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import stripe
from sqlalchemy import or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty.db.pagination import decode_cursor, encode_cursor
from loyalty.db.transactions import lock_members
from loyalty.errors import BadRequest, InvalidSignature, LoyaltyError, MemberInactive, NotFound, ValidationFailed
from loyalty.models import Event, StripeEvent
from loyalty.services import accrual, refunds
from loyalty.services.members import normalize_email
from loyalty.services.rules import ActiveRules
from loyalty.services.stripe_objects import (
    checkout_email,
    currency_field,
    integer_field,
    mapping_field,
    match_member,
    object_id,
    text_field,
)

TOLERANCE = timedelta(minutes=5)
ACTOR = "stripe"
CHECKOUT_TYPES = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
REFUND_TYPE = "charge.refunded"
#: Handled again when Stripe delivers them again (e.g. an operator fixed the member and resent the event).
RETRIED_STATUSES = ("unmatched", "rejected")


@dataclass
class Receipt:
    record: StripeEvent
    duplicate: bool


# --------------------------------------------------------------------------- signature


def verify(payload: bytes, signature: str | None, secret: str | None, now: datetime) -> dict:
    """The event in ``payload`` if Stripe signed it with ``secret`` within 5 minutes of ``now``, either way.

    Stripe's library checks the HMAC and that the signature is not too old;
    a timestamp too far in the future is refused here.
    """
    if not secret:
        raise InvalidSignature("Stripe webhooks are not set up here: STRIPE_WEBHOOK_SECRET is not configured.")
    if not signature:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    try:
        body = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(body, signature, secret, tolerance=int(TOLERANCE.total_seconds()))
    except UnicodeDecodeError:
        raise InvalidSignature("The body is not UTF-8, so it cannot be what Stripe signed.") from None
    except stripe.SignatureVerificationError as error:
        raise InvalidSignature(f"The Stripe-Signature header does not verify: {error.user_message}.") from None
    signed_at = _signed_at(signature)
    if abs(now.timestamp() - signed_at) > TOLERANCE.total_seconds():
        raise InvalidSignature("The Stripe-Signature timestamp is more than 5 minutes away from now.",
                               {"signed_at": signed_at})
    return _event(body)


def _signed_at(signature: str) -> int:
    for part in signature.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t":
            return int(value)
    raise InvalidSignature("The Stripe-Signature header has no timestamp.")


def _event(body: str) -> dict:
    try:
        event = json.loads(body)
    except ValueError:
        raise BadRequest("The signed body is not JSON.") from None
    data = event.get("data") if isinstance(event, dict) else None
    if not (isinstance(event, dict) and text_field(event.get("id")) and text_field(event.get("type"))
            and type(event.get("created")) is int and isinstance(data, dict)
            and isinstance(data.get("object"), dict)):
        raise BadRequest("The signed body is not a Stripe event: id, type, created and data.object are needed.")
    return event


# --------------------------------------------------------------------------- handling


def handle(session: Session, rules: ActiveRules, event: dict, now: datetime) -> Receipt:
    record, first = _claim(session, event, now)
    if not first and record.status not in RETRIED_STATUSES:
        return Receipt(record, duplicate=True)
    record.handled_at = now
    received = event["data"]["object"]
    if record.type in CHECKOUT_TYPES:
        _checkout(session, rules, record, received, now)
    elif record.type == REFUND_TYPE:
        _charge_refunded(session, rules, record, received, now)
    else:
        _settle(record, "unhandled", f"This service does not act on {record.type} events.")
    return Receipt(record, duplicate=False)


def _claim(session: Session, event: dict, now: datetime) -> tuple[StripeEvent, bool]:
    """Insert the event's row; if it is there already, lock and return that one instead."""
    record = StripeEvent(
        id=event["id"], type=event["type"], status="received", livemode=event.get("livemode") is True,
        created_at=datetime.fromtimestamp(event["created"], UTC), received_at=now, handled_at=now,
    )
    try:
        with session.begin_nested():
            session.add(record)
        return record, True
    except IntegrityError:
        pass
    existing = session.scalars(
        select(StripeEvent).where(StripeEvent.id == event["id"]).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return existing, False


def _checkout(session: Session, rules: ActiveRules, record: StripeEvent, checkout: dict, now: datetime) -> None:
    record.object_id = text_field(checkout.get("id"))
    record.source_id = object_id(checkout.get("payment_intent")) or record.object_id
    record.amount = integer_field(checkout.get("amount_total"))
    record.currency = currency_field(checkout.get("currency"))
    record.stripe_customer_id = object_id(checkout.get("customer"))
    record.client_reference_id = text_field(checkout.get("client_reference_id"))
    record.email = checkout_email(checkout)
    status = checkout.get("payment_status")
    if status != "paid":
        return _settle(record, "ignored", f"payment_status is {status!r}: points come with "
                                          "checkout.session.async_payment_succeeded once it is paid.")
    if record.amount is None or record.currency is None or record.source_id is None:
        return _settle(record, "ignored", "The session has no amount_total, currency or id.")
    member, matched_by = match_member(session, checkout)
    if member is None:
        return _settle(record, "unmatched", f"No member matches: {matched_by}.")
    _lock_payment(session, record.source_id)
    lock_members(session, [member.id])
    record.member_id = member.id
    recorded = session.scalar(select(Event.id).where(Event.source_id == record.source_id))
    if recorded is not None:
        record.event_id = recorded
        return _settle(record, "ignored", f"Payment {record.source_id} is already recorded as event {recorded}.")
    purchase = accrual.EventInput(
        type=accrual.PURCHASE, member_id=member.id, source_id=record.source_id,
        occurred_at=occurred_at(record.created_at, now), amount=record.amount, currency=record.currency,
        channel="stripe",
    )
    try:
        outcome = accrual.record_event(session, rules, purchase, ACTOR, now)
    except (ValidationFailed, MemberInactive, NotFound) as error:
        return _settle(record, "rejected", _explain(error))
    record.event_id = outcome.event["id"]
    record.member_id = outcome.member.id  # a merged member's payment went to the member it was merged into
    points = sum(a.points for a in outcome.evaluation.awards if a.member_id == outcome.member.id)
    _settle(record, "processed", f"Purchase recorded for member {outcome.member.id} (matched by {matched_by}): "
                                 f"{points} points.")
    _apply_waiting_refunds(session, rules, session.get(Event, record.event_id), now)


def _charge_refunded(session: Session, rules: ActiveRules, record: StripeEvent, charge: dict,
                     now: datetime) -> None:
    record.object_id = text_field(charge.get("id"))
    record.source_id = object_id(charge.get("payment_intent")) or record.object_id
    record.amount = integer_field(charge.get("amount_refunded"))
    record.currency = currency_field(charge.get("currency"))
    record.stripe_customer_id = object_id(charge.get("customer"))
    record.email = normalize_email(text_field(mapping_field(charge.get("billing_details")).get("email")))
    if record.amount is None or record.source_id is None:
        return _settle(record, "ignored", "The charge has no amount_refunded or id.")
    _lock_payment(session, record.source_id)
    purchase = session.scalar(select(Event).where(Event.source_id == record.source_id))
    if purchase is None:
        return _settle(record, "pending", f"No purchase for payment {record.source_id} yet; this refund "
                                          "is applied when its checkout arrives.")
    if purchase.type != accrual.PURCHASE:
        return _settle(record, "ignored", f"Event {purchase.id} is a {purchase.type}, not a purchase.")
    _settle(record, "processed", _refund_up_to(session, rules, purchase, record.amount, record.object_id, now))
    record.member_id, record.event_id = purchase.member_id, purchase.id


def _apply_waiting_refunds(session: Session, rules: ActiveRules, purchase: Event, now: datetime) -> None:
    """Refunds that arrived before their checkout: the largest cumulative amount covers them all."""
    waiting = session.scalars(select(StripeEvent).where(
        StripeEvent.source_id == purchase.source_id, StripeEvent.type == REFUND_TYPE,
        StripeEvent.status == "pending",
    )).all()
    if not waiting:
        return
    latest = max(waiting, key=lambda r: r.amount)
    outcome = _refund_up_to(session, rules, purchase, latest.amount, latest.object_id, now)
    for refund in waiting:
        refund.member_id, refund.event_id, refund.handled_at = purchase.member_id, purchase.id, now
        _settle(refund, "processed", f"Applied when its checkout arrived: {outcome}")


def _refund_up_to(session: Session, rules: ActiveRules, purchase: Event, refunded_total: int,
                  charge_id: str | None, now: datetime) -> str:
    """Stripe reports the charge's refunds cumulatively: refund only what is not refunded yet."""
    lock_members(session, [purchase.member_id])
    session.refresh(purchase)
    owed = min(refunded_total, purchase.amount or 0) - purchase.refunded_amount
    if owed <= 0:
        return f"Nothing more to refund: {purchase.refunded_amount} of {purchase.amount} already refunded."
    outcome = refunds.refund_event(session, rules, purchase.id, owed, ACTOR, now,
                                   reason=f"Stripe charge {charge_id} refunded")
    return f"Refunded {owed} of event {purchase.id}: {outcome.refund.reversed_points} points reversed."


def _lock_payment(session: Session, source_id: str) -> None:
    """One payment's checkout and refunds are handled one at a time, so a refund racing
    its checkout is never left waiting. SQLite writers queue already (BEGIN IMMEDIATE).

    Taken before the member's row lock, and the event row names the member only once
    that lock is held: the share lock a foreign key takes on PostgreSQL, held first,
    would deadlock two deliveries that both go on to lock the member.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                        {"key": f"stripe-payment:{source_id}"})


def occurred_at(created: datetime, now: datetime) -> datetime:
    """Stripe's ``created``, kept inside what accrual accepts: not after now, at most 90 days back."""
    return min(max(created, now - accrual.MAX_PAST), now)


def _settle(record: StripeEvent, status: str, reason: str) -> None:
    record.status = status
    record.reason = reason


def _explain(error: LoyaltyError) -> str:
    fields = error.details.get("fields") if isinstance(error, ValidationFailed) else None
    if fields:
        return "; ".join(f"{name}: {', '.join(messages)}" for name, messages in fields.items())
    return error.message


# --------------------------------------------------------------------------- the operator's list


def unresolved(session: Session, status: str | None = None, limit: int = 20,
               cursor: str | None = None) -> tuple[list[StripeEvent], str | None]:
    """Stripe events that changed no points (or only ``status``), newest first."""
    query = select(StripeEvent).where(
        StripeEvent.status == status if status else StripeEvent.status != "processed"
    )
    after = decode_cursor(cursor)
    if after is not None:
        received_at, last_id = _list_cursor(after)
        query = query.where(or_(StripeEvent.received_at < received_at,
                                (StripeEvent.received_at == received_at) & (StripeEvent.id < last_id)))
    rows = session.scalars(query.order_by(StripeEvent.received_at.desc(), StripeEvent.id.desc())
                           .limit(limit + 1)).all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].received_at.isoformat(), page[-1].id) if len(rows) > limit else None
    return page, next_cursor


def _list_cursor(values: list) -> tuple[datetime, str]:
    try:
        received_at, last_id = values
        received_at = datetime.fromisoformat(received_at)
    except (TypeError, ValueError):
        received_at = None
    if received_at is None or received_at.tzinfo is None or not isinstance(last_id, str):
        raise ValidationFailed({"cursor": ["not a cursor this service issued"]})
    return received_at, last_id
