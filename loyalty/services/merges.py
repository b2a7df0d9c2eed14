"""Merging a duplicate member into the member who stays: one customer, one account.

Everything the duplicate holds moves in one transaction: its points (a pair
of ``merge`` entries), its counters (limits, caps and qualifying points add
up at the survivor), its purchase history as the lifecycle counts it, its
tier if better, and its external id and email, which become aliases. The
duplicate's row and ledger stay as history; it answers ``410 member_merged``.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.db.transactions import lock_members, write_transaction
from loyalty.errors import InvalidState, NotFound
from loyalty.models import Member, MemberAlias, TierChange
from loyalty.services import audit, counters, tier_review
from loyalty.services.accrual import refresh_lifecycle
from loyalty.services.identity import current_id
from loyalty.services.member_view import member_view
from loyalty.services.rules import ActiveRules
from loyalty.services.tiers import current_tier, give_tier_badges, upgrade_if_qualified


@dataclass(frozen=True)
class MergeOutcome:
    survivor: Member
    duplicate: Member
    moved: ledger.Moved
    tier_from_duplicate: bool


def merge(session: Session, rules: ActiveRules, survivor_id: str, duplicate_id: str, actor: str | None,
          now: datetime, note: str | None = None) -> MergeOutcome:
    if survivor_id == duplicate_id:
        raise InvalidState("A member cannot be merged into itself.", {"member_id": survivor_id})
    locked = lock_members(session, [survivor_id, duplicate_id])
    survivor, duplicate = locked.get(survivor_id), locked.get(duplicate_id)
    for member_id, member in ((survivor_id, survivor), (duplicate_id, duplicate)):
        if member is None:
            raise NotFound(f"No member {member_id}.")
        if member.merged_into_id is not None:
            raise InvalidState(f"Member {member_id} was already merged into {current_id(session, member_id)}.",
                               {"member_id": member_id, "merged_into": current_id(session, member_id)})
        if member.status == "erased":
            raise InvalidState(f"Member {member_id} is erased.", {"member_id": member_id, "status": "erased"})
    program = rules.program
    for member in (survivor, duplicate):
        tier_review.review_member(session, program, member, now)
    posting = ledger.Posting(now=now, actor=actor, rules_version=rules.version)
    moved = ledger.merge_points(session, duplicate, survivor,
                                _with_reason(posting, f"Merged into {survivor.id}"),
                                _with_reason(posting, f"Merged from {duplicate.id}"))
    counters.move_counters(session, duplicate.id, survivor.id)
    _add_history(survivor, duplicate)
    tier_from_duplicate = _keep_better_tier(session, program, survivor, duplicate, now)
    upgrade_if_qualified(session, program, survivor, now)
    if survivor.referred_by_id is None and duplicate.referred_by_id not in (None, survivor.id):
        survivor.referred_by_id = duplicate.referred_by_id
    elif survivor.referred_by_id == duplicate.id:
        survivor.referred_by_id = None  # a member does not refer itself
    _alias(session, survivor, duplicate, now)
    duplicate.status, duplicate.merged_into_id, duplicate.merged_at = "merged", survivor.id, now
    duplicate.tier_expires_at = None  # its tier went with it: no hold of its own ends for the tier job
    survivor.last_activity_at = now
    refresh_lifecycle(rules, survivor, now)
    details = {"merged_member_id": duplicate.id, "points": moved.points, "pending": moved.pending,
               "lots": len(moved.lots), "tier": survivor.tier_id, "balance_after": survivor.balance}
    outbox.emit(session, "member.merged", survivor.id, {"member_id": survivor.id, **details}, now)
    audit.record(session, actor, "merge", survivor.id, now, note, details)
    return MergeOutcome(survivor, duplicate, moved, tier_from_duplicate)


def _with_reason(posting: ledger.Posting, reason: str) -> ledger.Posting:
    return ledger.Posting(now=posting.now, actor=posting.actor, rules_version=posting.rules_version, reason=reason)


def _add_history(survivor: Member, duplicate: Member) -> None:
    """The duplicate's purchases and referrals count as the survivor's (lifecycle stage)."""
    purchases = sorted(at for at in (survivor.first_purchase_at, survivor.second_purchase_at,
                                     duplicate.first_purchase_at, duplicate.second_purchase_at) if at is not None)
    survivor.purchase_count += duplicate.purchase_count
    survivor.first_purchase_at = purchases[0] if purchases else None
    survivor.second_purchase_at = purchases[1] if len(purchases) > 1 and survivor.purchase_count > 1 else None
    lasts = [at for at in (survivor.last_purchase_at, duplicate.last_purchase_at) if at is not None]
    survivor.last_purchase_at = max(lasts) if lasts else None
    survivor.referrals_earned += duplicate.referrals_earned


def _keep_better_tier(session: Session, program, survivor: Member, duplicate: Member, now: datetime) -> bool:
    """The duplicate's tier and its hold if it is the better one (or the same one, held longer)."""
    theirs, ours = current_tier(program, duplicate), current_tier(program, survivor)
    better = theirs.qualifying_points > ours.qualifying_points
    longer = (theirs.id == ours.id and duplicate.tier_expires_at is not None
              and (survivor.tier_expires_at is None or duplicate.tier_expires_at > survivor.tier_expires_at))
    if not (better or longer):
        return False
    if better:
        session.add(TierChange(member_id=survivor.id, from_tier=survivor.tier_id, to_tier=theirs.id,
                               reason="merge", changed_at=now))
        outbox.emit(session, "tier.changed", survivor.id, {
            "member_id": survivor.id, "from": survivor.tier_id, "to": theirs.id, "reason": "merge",
            "event_id": None, "expires_at": duplicate.tier_expires_at,
        }, now)
        give_tier_badges(session, program, survivor.id, survivor.tier_id, theirs.id, now)
        survivor.tier_id, survivor.tier_since = theirs.id, duplicate.tier_since
    survivor.tier_expires_at = duplicate.tier_expires_at
    return True


def _alias(session: Session, survivor: Member, duplicate: Member, now: datetime) -> None:
    """The duplicate's external id and email find the survivor; so do the aliases it had."""
    session.execute(update(MemberAlias).where(MemberAlias.member_id == duplicate.id)
                    .values(member_id=survivor.id).execution_options(synchronize_session=False))
    wanted = [("external_id", duplicate.external_id), ("email", duplicate.email)]
    for kind, value in wanted:
        if not value or (kind == "email" and value == survivor.email):
            continue
        taken = session.scalar(select(MemberAlias.member_id).where(MemberAlias.kind == kind,
                                                                   MemberAlias.value == value))
        if taken is None:
            session.add(MemberAlias(kind=kind, value=value, member_id=survivor.id, merged_member_id=duplicate.id,
                                    created_at=now))


class _PreviewOnly(Exception):
    """Raised to roll a previewed merge back."""


def preview(session: Session, rules: ActiveRules, survivor_id: str, duplicate_id: str, actor: str | None,
            now: datetime) -> dict:
    """What merging would give, by merging in a transaction that is then rolled back: the survivor's member
    view after it, the points and lots that would move, whether the duplicate's tier would be kept.
    Nothing is written; errors (a merged member, the same member) are raised as ``merge`` raises them."""
    result = {}
    try:
        with write_transaction(session):
            outcome = merge(session, rules, survivor_id, duplicate_id, actor, now)
            result.update(member=member_view(session, rules.program, outcome.survivor, now),
                          points=outcome.moved.points, pending=outcome.moved.pending, lots=len(outcome.moved.lots),
                          tier_from_duplicate=outcome.tier_from_duplicate,
                          purchases=outcome.survivor.purchase_count)
            raise _PreviewOnly
    except _PreviewOnly:
        pass
    return result
