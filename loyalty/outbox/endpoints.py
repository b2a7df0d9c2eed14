"""Webhook endpoints and their delivery log: subscribe, rotate the secret, look, redeliver."""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loyalty.db.pagination import decode_cursor, encode_cursor
from loyalty.errors import InvalidState, NotFound, ValidationFailed
from loyalty.ids import new_id
from loyalty.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from loyalty.outbox.events import EVENT_TYPES, RETRY_FOR

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def create_endpoint(session: Session, url: str, events: list[str], description: str | None,
                    actor: str | None, now: datetime) -> WebhookEndpoint:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ValidationFailed({"events": [f"unknown event type(s): {', '.join(unknown)}"]})
    endpoint = WebhookEndpoint(
        id=new_id("whe"), url=url, events=sorted(set(events), key=EVENT_TYPES.index), description=description,
        secret=new_secret(), created_at=now, created_by=actor, failures=0,
    )
    session.add(endpoint)
    return endpoint


def get_endpoint(session: Session, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id,
                                                            WebhookEndpoint.deleted_at.is_(None)))
    if endpoint is None:
        raise NotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


def list_endpoints(session: Session, limit: int = 20, cursor: str | None = None):
    query = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None))
    after = _seq_cursor(cursor)
    if after is not None:
        query = query.where(WebhookEndpoint.seq < after)
    rows = session.scalars(query.order_by(WebhookEndpoint.seq.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return page, (encode_cursor(page[-1].seq) if len(rows) > limit else None)


def delete_endpoint(session: Session, endpoint_id: str, now: datetime) -> None:
    """Stop sending; undelivered events are cancelled. The log stays in the database."""
    endpoint = get_endpoint(session, endpoint_id)
    endpoint.deleted_at = now
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
        .values(status="cancelled", last_error="endpoint deleted", locked_until=None)
    )


def rotate_secret(session: Session, endpoint_id: str, now: datetime, grace: timedelta) -> WebhookEndpoint:
    """A new secret signs from now on; the old one signs too (a second ``v1=``) until ``now + grace``."""
    endpoint = get_endpoint(session, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + grace
    endpoint.secret = new_secret()
    return endpoint


def deliveries(session: Session, endpoint_id: str, limit: int = 20, cursor: str | None = None,
               status: str | None = None):
    """The endpoint's delivery log, newest first."""
    endpoint = get_endpoint(session, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    after = _seq_cursor(cursor)
    if after is not None:
        query = query.where(WebhookDelivery.seq < after)
    rows = session.scalars(query.order_by(WebhookDelivery.seq.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return page, (encode_cursor(page[-1].seq) if len(rows) > limit else None)


def get_delivery(session: Session, delivery_id: str) -> WebhookDelivery:
    delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
    if delivery is None:
        raise NotFound(f"No webhook delivery {delivery_id}.")
    return delivery


def attempts(session: Session, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    return list(session.scalars(
        select(WebhookAttempt).where(WebhookAttempt.delivery_seq == delivery.seq).order_by(WebhookAttempt.id)
    ))


def redeliver(session: Session, delivery_id: str, now: datetime) -> WebhookDelivery:
    """Send the event again now: a pending delivery is brought forward, a finished one gets a new delivery.

    The receiver gets the same event ``id``. The endpoint's pause is lifted, so
    an operator who fixed the receiver sees it delivered on the next round.
    """
    delivery = get_delivery(session, delivery_id)
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id))
    if endpoint.deleted_at is not None:
        raise InvalidState("The endpoint was deleted; nothing is sent to it any more.",
                           {"endpoint_id": endpoint.id})
    endpoint.paused_until = None
    if delivery.status == "pending":
        delivery.next_attempt_at = now
        return delivery
    again = WebhookDelivery(
        id=new_id("whd"), endpoint_id=delivery.endpoint_id, event_seq=delivery.event_seq,
        member_id=delivery.member_id, status="pending", attempts=0, next_attempt_at=now,
        give_up_at=now + RETRY_FOR, created_at=now,
    )
    session.add(again)
    session.flush()
    return again


def _seq_cursor(cursor: str | None) -> int | None:
    after = decode_cursor(cursor)
    if after is None:
        return None
    if len(after) != 1 or type(after[0]) is not int:
        raise ValidationFailed({"cursor": ["not a cursor this service issued"]})
    return after[0]
