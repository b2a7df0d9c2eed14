"""Reading recorded events back."""

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loyalty.engine import explanation_words
from loyalty.errors import NotFound
from loyalty.models import Event, Lot, Member


def event_detail(session: Session, event_id: str) -> dict:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"No event {event_id}.")
    # Lots are not indexed by event: an event's lots are its member's and its member's referrer's.
    referrer = select(Member.referred_by_id).where(Member.id == event.member_id).scalar_subquery()
    lots = session.scalars(select(Lot).where(Lot.event_id == event_id, or_(
        Lot.member_id == event.member_id, Lot.member_id == referrer)).order_by(Lot.id)).all()
    awarded = [
        {"rule_id": lot.rule_id, "member_id": lot.member_id, "points": lot.points,
         "status": lot.status, "available_at": lot.available_at, "expires_at": lot.expires_at}
        for lot in lots
    ]
    return {
        "id": event.id, "type": event.type, "member_id": event.member_id, "source_id": event.source_id,
        "occurred_at": event.occurred_at, "recorded_at": event.recorded_at, "amount": event.amount,
        "currency": event.currency, "store_id": event.store_id, "channel": event.channel,
        "items": event.items, "attributes": event.attributes, "rules_version": event.rules_version,
        "refunded_amount": event.refunded_amount, "reversed_points": event.reversed_points,
        "awarded": awarded, "explanation": explanation_of(event),
    }


def explanation_of(event: Event) -> list[dict]:
    """The event's explanation in the contract's words: its stored facts, worded by the engine."""
    return explanation_words(event.explanation, event)


def explanations_of(events) -> dict[str, list[dict]]:
    return {event.id: explanation_of(event) for event in events}
