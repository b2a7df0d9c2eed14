"""Events brought over from another program with the points it gave them, taken as they are.

The event is recorded (so its source_id is taken, and it counts as a
purchase for the member's lifecycle) and its points are an ``adjust``
credit through the ledger, expiring by the program's policy from the
event's time; no rule is evaluated, no counter moves, and, like any
adjustment, they do not count towards tiers.
"""

from dataclasses import asdict
from datetime import datetime

from sqlalchemy.orm import Session

from loyalty import ledger
from loyalty.engine import Award, Evaluation
from loyalty.ids import new_id
from loyalty.models import Member
from loyalty.services.accrual import (
    PURCHASE,
    EventInput,
    EventOutcome,
    count_purchase,
    insert_event,
    refresh_lifecycle,
)
from loyalty.services.rules import ActiveRules

REASON = "carried over from the previous program"


def record_carried(session: Session, rules: ActiveRules, member: Member, data: EventInput, occurred_at: datetime,
                   points: int, actor: str | None, now: datetime) -> EventOutcome:
    """Record the event and credit its ``points`` (>= 0) to the locked ``member``."""
    event = {
        "id": new_id("evt"), "member_id": member.id, "type": data.type, "source_id": data.source_id,
        "occurred_at": occurred_at, "recorded_at": now, "amount": data.amount, "currency": data.currency,
        "store_id": data.store_id, "channel": data.channel,
        "items": [asdict(item) for item in data.items] or None,
        "attributes": data.attributes or None, "rules_version": rules.version, "actor": actor,
        "explanation": {}, "refundable_points": 0, "refunded_amount": 0, "reversed_points": 0,
    }
    insert_event(session, event)
    expires_at = rules.program.expires_at(occurred_at)
    awards = ()
    if points:
        posting = ledger.Posting(now=now, actor=actor, rules_version=rules.version, event_id=event["id"],
                                 reason=REASON)
        ledger.credit(session, member, [ledger.Credit(points, None, occurred_at, expires_at)], posting,
                      entry_type="adjust")
        awards = (Award(None, member.id, points, "active", occurred_at, expires_at, False, False),)
    if data.type == PURCHASE:
        count_purchase(member, occurred_at)
    member.last_activity_at = now
    refresh_lifecycle(rules, member, now)
    return EventOutcome(event, member, Evaluation(awards, (), ()), [], [])
