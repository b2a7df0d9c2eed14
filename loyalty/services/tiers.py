"""Tier qualification: trailing-window qualifying points and upgrades."""

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from loyalty import outbox
from loyalty.engine import Program
from loyalty.models import Member, TierChange
from loyalty.services import counters
from loyalty.services.challenges import give_badge


def program_day(program: Program, moment: datetime):
    return moment.astimezone(program.timezone).date()


def qualifying_window(program: Program, now: datetime) -> tuple[date, date]:
    """First and last day of the trailing window ending today (program timezone)."""
    today = program_day(program, now)
    return today - timedelta(days=program.qualifying_window.days - 1), today


def qualifying_points(session: Session, program: Program, member_id: str, now: datetime) -> int:
    """Qualifying points earned in the trailing window ending today (program timezone)."""
    return counters.qualifying_total(session, member_id, *qualifying_window(program, now))


def current_tier(program: Program, member: Member):
    """The member's tier, or the base tier if the program no longer has it."""
    try:
        return program.tier(member.tier_id)
    except KeyError:
        return program.base_tier


def upgrade_if_qualified(session: Session, program: Program, member: Member, now: datetime,
                         event_id: str | None = None) -> TierChange | None:
    """Move the member up right after the event that reaches a higher threshold.

    Never moves down: downgrades happen only when a held tier ends.
    """
    qualifying = qualifying_points(session, program, member.id, now)
    target = program.tier_for_points(qualifying)
    current = current_tier(program, member)
    if target.qualifying_points <= current.qualifying_points:
        return None
    change = TierChange(member_id=member.id, from_tier=member.tier_id, to_tier=target.id,
                        reason="upgrade", event_id=event_id, changed_at=now)
    member.tier_id = target.id
    member.tier_since = now
    member.tier_expires_at = now + program.tier_hold
    session.add(change)
    outbox.emit(session, "tier.changed", member.id, {
        "member_id": member.id, "from": change.from_tier, "to": change.to_tier, "reason": change.reason,
        "event_id": event_id, "expires_at": member.tier_expires_at,
    }, now)
    give_tier_badges(session, program, member.id, change.from_tier, target.id, now)
    return change


def give_tier_badges(session: Session, program: Program, member_id: str, from_tier: str | None, to_tier: str,
                     now: datetime) -> None:
    """The badges of the tiers a move up reaches: ``to_tier``'s and those of the tiers passed on the way."""
    ranks = {tier.id: i for i, tier in enumerate(program.tiers)}
    start = ranks.get(from_tier, 0) if from_tier is not None else 0
    for tier in program.tiers[start + 1:ranks.get(to_tier, -1) + 1]:
        if tier.badge_id:
            give_badge(session, program, member_id, tier.badge_id, f"tier:{tier.id}", now)
