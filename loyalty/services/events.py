"""Reading recorded events back."""

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from loyalty.errors import NotFound
from loyalty.models import Event, Lot, Member
from loyalty.services import explanations
from loyalty.services.rules import explanation_dictionaries


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
        "awarded": awarded, "explanation": explanations_of(session, [event])[event.id],
    }


def explanations_of(session: Session, events) -> dict[str, list[dict]]:
    """Each event's explanation as it was given, unpacked against its rules version's dictionary."""
    versions = {event.rules_version for event in events if explanations.needs_dictionary(event.explanation)}
    dictionaries = explanation_dictionaries(session, versions) if versions else {}
    return {event.id: explanations.unpack(event.explanation, dictionaries.get(event.rules_version))
            for event in events}
