"""Refunds: reverse a purchase's spend points in proportion to what was returned."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.errors import InvalidState, NotFound
from loyalty.ids import new_id
from loyalty.models import Event, Member, Refund
from loyalty.services import cards, challenges, counters, identity, streaks
from loyalty.services.rules import ActiveRules
from loyalty.services.tiers import program_day


@dataclass
class RefundOutcome:
    refund: Refund
    member: Member


def points_to_reverse(earned: int, amount: int, refunded_total: int, reversed_so_far: int) -> int:
    """After refunds totalling r of amount a, floor(P × r / a) of P are reversed in all."""
    return earned * refunded_total // amount - reversed_so_far


def refund_event(session: Session, rules: ActiveRules, event_id: str, amount: int,
                 actor: str | None, now: datetime, reason: str | None = None) -> RefundOutcome:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"No event {event_id}.")
    if event.type != "purchase":
        raise InvalidState("Only purchases can be refunded.", {"type": event.type})
    member = identity.lock_current(session, event.member_id)  # a merged member's purchase: its survivor
    session.refresh(event)
    paid = event.amount or 0
    if event.refunded_amount + amount > paid:
        raise InvalidState(
            "Refunds would exceed what was paid.",
            {"paid": paid, "refunded": event.refunded_amount, "requested": amount},
        )
    refunded_total = event.refunded_amount + amount
    reverse = points_to_reverse(event.refundable_points, paid, refunded_total, event.reversed_points)
    if reverse:
        _reverse(session, rules, member, event, reverse, actor, now)
    event.refunded_amount = refunded_total
    event.reversed_points += reverse
    if paid and refunded_total == paid:
        cards.take_back(session, rules, member, event.id, actor, now)
        challenges.take_back(session, event.id, now)
        streaks.take_back(session, event.id, now)
    refund = Refund(id=new_id("ref"), event_id=event.id, amount=amount, reversed_points=reverse,
                    reason=reason, actor=actor, created_at=now)
    session.add(refund)
    if reverse:
        outbox.emit(session, "points.reversed", member.id, {
            "member_id": member.id, "event_id": event.id, "refund_id": refund.id, "amount": amount,
            "points": reverse, "balance": member.balance, "pending": member.pending,
        }, now)
    return RefundOutcome(refund, member)


def _reverse(session: Session, rules: ActiveRules, member: Member, event: Event, points: int,
             actor: str | None, now: datetime) -> None:
    """Take back still-pending points of the purchase first, then spendable ones."""
    left = ledger.take_back_pending(session, member, event.id, points)
    if left:
        posting = ledger.Posting(now=now, actor=actor, rules_version=rules.version,
                                 event_id=event.id, reason="refund")
        ledger.debit(session, member, left, "reverse", posting, allow_negative=True,
                     prefer_event_id=event.id)
    counters.add_qualifying(session, member.id, program_day(rules.program, event.occurred_at), -points)
