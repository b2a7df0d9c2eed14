"""The outbox: what happened, written in the same transaction as the change, for webhooks.

A change and the event that tells the merchant's systems about it commit or
roll back together, so a receiver never hears of a change that did not
happen and never misses one that did. Delivery happens later, outside the
transaction (``loyalty.services.webhook_delivery``).
"""

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import JSON, Row, String, column, text
from sqlalchemy.orm import Session

from loyalty.clock import to_rfc3339
from loyalty.ids import new_id
from loyalty.models import OutboxEvent, WebhookDelivery

EVENT_TYPES = (
    "member.enrolled",
    "member.erased",
    "member.merged",
    "points.earned",
    "points.reversed",
    "points.adjusted",
    "points.expired",
    "points.transferred",
    "tier.changed",
    "reward.redeemed",
    "redemption.voided",
    "card.completed",
    "challenge.completed",
    "streak.completed",
    "badge.earned",
    "points.expiring",
    "tier.expiring",
)

#: How long a delivery is retried before it is given up as ``failed``.
RETRY_FOR = timedelta(days=3)


#: Asked on every change of points, so built once; ``id`` and ``events`` are all ``emit`` needs
#: (``write_batch`` asks it as the last part of its statement).
LIVE_ENDPOINTS_SQL = "SELECT id, events FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY seq"
ENDPOINT_COLUMNS = (column("id", String), column("events", JSON))
LIVE_ENDPOINTS = text(LIVE_ENDPOINTS_SQL).columns(*ENDPOINT_COLUMNS)


def subscribed_endpoints(session: Session) -> list[Row]:
    """Every endpoint that has not been deleted, as ``(id, events)`` rows (few; bulk writers
    fetch them once per batch)."""
    return list(session.execute(LIVE_ENDPOINTS))


def emit(session: Session, type: str, member_id: str | None, data: dict, now: datetime, *,
         endpoints: Iterable[Row] | None = None) -> OutboxEvent | None:
    """Record event ``type`` about ``member_id`` in the caller's (write) transaction.

    ``type`` is one of ``EVENT_TYPES``; ``data`` is the payload's ``data``
    object (datetimes and dates are written as RFC 3339 / ``YYYY-MM-DD``).
    Call it where the change is made, after the change, while holding the
    member's row lock (``lock_members``), so a member's events are numbered
    in the order their changes commit; receivers get them in that order.

    One delivery is queued per endpoint subscribed to ``type`` now; with no
    subscriber nothing is written and None is returned. ``endpoints`` lets a
    bulk writer pass ``subscribed_endpoints(session)`` fetched once.

    Example (what redemptions would add after the debit)::

        outbox.emit(session, "reward.redeemed", member.id,
                    {"member_id": member.id, "redemption_id": r.id, "reward_id": r.reward_id,
                     "points": r.points_spent, "balance": member.balance}, now)
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    targets = [e for e in (subscribed_endpoints(session) if endpoints is None else endpoints)
               if type in e.events]
    if not targets:
        return None
    event = OutboxEvent(id=new_id("wev"), type=type, member_id=member_id, data=jsonable(data), created_at=now)
    session.add(event)
    for endpoint in targets:
        session.add(WebhookDelivery(
            id=new_id("whd"), endpoint_id=endpoint.id, event=event, member_id=member_id, status="pending",
            attempts=0, next_attempt_at=now, give_up_at=now + RETRY_FOR, created_at=now,
        ))
    return event


def payload(event: OutboxEvent) -> dict:
    """The body every receiver gets: the same ``id`` on every delivery of the event."""
    return {"id": event.id, "type": event.type, "created_at": to_rfc3339(event.created_at), "data": event.data}


def jsonable(value):
    if isinstance(value, datetime):
        return to_rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def member_data(member) -> dict:
    """The member as ``member.enrolled`` describes it (personal fields are blanked on erasure)."""
    return {
        "id": member.id, "external_id": member.external_id, "email": member.email, "phone": member.phone,
        "first_name": member.first_name, "last_name": member.last_name, "birthday": member.birthday,
        "email_opt_in": member.email_opt_in, "channel": member.channel, "stripe_customer_id": member.stripe_customer_id,
        "referral_code": member.referral_code, "referred_by_member_id": member.referred_by_id,
        "status": member.status, "tier": member.tier_id, "enrolled_at": member.enrolled_at,
    }
