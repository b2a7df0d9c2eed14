"""The signed-in customer's account as the widget shows it: the member, how to earn more, what
expires next, the catalog, their activity and their codes, in one read."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.engine.ways_to_earn import usage_counters, ways_to_earn
from loyalty.models import Lot, Member, Redemption
from loyalty.services import customer, history, redemptions
from loyalty.services.member_view import member_view, read_member
from loyalty.services.rules import ActiveRules
from loyalty.services.tiers import current_tier

RECENT = 10


def account(session: Session, rules: ActiveRules, member: Member, now: datetime, include: set[str]) -> dict:
    """The member's own view; ``include`` adds rewards, transactions (the RECENT latest) and redemptions."""
    program = rules.program
    reads = read_member(session, program, member.id, now, usage_counters(program, now))
    view = member_view(session, program, member, now, reads.expiring_soon, reads.card_rows)
    view["next_expiry"] = next_expiry(session, member.id, now)
    # A suspended member earns nothing until reinstated: no ways to earn to show.
    view["ways_to_earn"] = (ways_to_earn(program, current_tier(program, member).id, reads.usage, now)
                            if member.status == "active" else [])
    view["program"] = {"name": program.name, "currency": program.currency, "tiers": [
        {"id": tier.id, "name": tier.name, "qualifying_points": tier.qualifying_points,
         "multiplier": float(tier.multiplier)} for tier in program.tiers]}
    if "rewards" in include:
        view["rewards"] = redemptions.reward_catalog(session, rules, member, now)
    if "transactions" in include:
        view["transactions"] = activity_page(session, rules, member.id, RECENT, None, None)
    if "redemptions" in include:
        view["redemptions"] = redemption_page(session, rules, member.id, RECENT, None)
    return view


def next_expiry(session: Session, member_id: str, now: datetime) -> dict | None:
    """The member's soonest-expiring spendable points, however far away: the lots due at that instant."""
    soonest = session.execute(
        select(Lot.expires_at, func.sum(Lot.remaining))
        .where(Lot.member_id == member_id, Lot.status == "active", Lot.remaining > 0,
               Lot.expires_at.is_not(None), Lot.expires_at > now)
        .group_by(Lot.expires_at).order_by(Lot.expires_at).limit(1)).first()
    return None if soonest is None else {"points": int(soonest[1]), "expires_at": soonest[0]}


def activity_page(session: Session, rules: ActiveRules, member_id: str, limit: int, cursor: str | None,
                  entry_type: str | None) -> dict:
    page, next_cursor = history.entries(session, member_id, limit, cursor, entry_type)
    return {"data": customer.activity(session, rules.program, member_id, page), "next_cursor": next_cursor}


def redemption_page(session: Session, rules: ActiveRules, member_id: str, limit: int, cursor: str | None) -> dict:
    """The member's redemptions, newest first, each with its reward's name."""
    page, next_cursor = redemptions.member_redemptions(session, member_id, limit, cursor)
    return {"data": [with_reward_name(rules, redemption) for redemption in page], "next_cursor": next_cursor}


def with_reward_name(rules: ActiveRules, redemption: Redemption) -> Redemption:
    """The redemption, named as its reward is in the catalog (None once the reward is retired)."""
    reward = rules.program.reward(redemption.reward_id)
    redemption.reward_name = None if reward is None else reward.name
    return redemption
