"""The end of a tier hold: re-evaluate on the trailing window and move, or hold again.

A tier, once reached, is held ``tiers.hold_days``. When the hold ends the
member moves to the highest tier the qualifying points of the trailing
window *ending at that instant* reach (not the job's now, so a late run
decides exactly as an on-time one): the same tier is held another
``hold_days`` from the old end, counted from the old end; a lower one is a
downgrade (straight to the tier that qualifies, however many steps down),
a higher one an upgrade, each held ``hold_days`` from the old end. The base
tier is never lost, so it has no end. A run that is late by more than a
hold replays each end in turn, then upgrades the member if what they earned
since the hold ended reaches a higher tier (an upgrade that the ended hold
kept from happening at the time).
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import outbox
from loyalty.db.transactions import lock_members
from loyalty.engine import Program
from loyalty.models import Member, TierChange
from loyalty.services.rules import active_rules
from loyalty.services.sweep import SweepResult, keyset_after, sweep
from loyalty.services.tiers import current_tier, give_tier_badges, qualifying_points, upgrade_if_qualified

BATCH_SIZE = 500


def review_tiers(session: Session, now: datetime, *, batch_size: int = BATCH_SIZE,
                 max_batches: int | None = None) -> SweepResult:
    """Re-evaluate every member whose tier hold ended at or before `now`; counts tier changes."""
    program = active_rules(session).program

    def window(session: Session, cursor, limit: int):
        rows = session.execute(
            select(Member.id, Member.tier_expires_at)
            .where(Member.tier_expires_at <= now, keyset_after(cursor, Member.tier_expires_at, Member.id))
            .order_by(Member.tier_expires_at, Member.id).limit(limit)
        ).all()
        if not rows:
            return [], cursor
        return [row.id for row in rows], (rows[-1].tier_expires_at, rows[-1].id)

    def process(session: Session, member_ids: list[str]) -> int:
        members = lock_members(session, member_ids)
        return sum(len(review_member(session, program, member, now)) for member in members.values())

    return sweep(session, window, process, batch_size=batch_size, max_batches=max_batches)


def review_member(session: Session, program: Program, member: Member, now: datetime) -> list[TierChange]:
    """Every hold of this (locked) member that ended by `now`, in order."""
    changes = []
    while member.tier_expires_at is not None and member.tier_expires_at <= now:
        ended = member.tier_expires_at
        held = current_tier(program, member)
        target = program.tier_for_points(qualifying_points(session, program, member.id, ended))
        if target.id == member.tier_id:
            reason = "requalified"
        elif target.qualifying_points > held.qualifying_points:
            reason = "upgrade"
        else:
            reason = "downgrade"
        change = TierChange(member_id=member.id, from_tier=member.tier_id, to_tier=target.id, reason=reason,
                            changed_at=ended)
        session.add(change)
        changes.append(change)
        if target.id != member.tier_id:
            member.tier_id = target.id
            member.tier_since = ended
        member.tier_expires_at = None if target == program.base_tier else ended + program.tier_hold
        if change.from_tier != change.to_tier:
            outbox.emit(session, "tier.changed", member.id, {
                "member_id": member.id, "from": change.from_tier, "to": change.to_tier, "reason": reason,
                "event_id": None, "changed_at": ended, "expires_at": member.tier_expires_at,
            }, now)
            if reason == "upgrade":
                give_tier_badges(session, program, member.id, change.from_tier, change.to_tier, now)
    if changes:
        # Points earned after the hold ended could not upgrade a tier that was about to end.
        upgraded = upgrade_if_qualified(session, program, member, now)
        if upgraded is not None:
            changes.append(upgraded)
    return changes
