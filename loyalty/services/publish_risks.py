"""What a new rules version would break for the tills and the members: warnings that need a confirmation.

A change is risky when, once it is active:

- ``action_dropped``: an action the tills sent in the last 30 days is handled
  by no rule, so every such event becomes a 422 (a typo such as
  ``on: reveiw`` does exactly this);
- ``reward_removed``: a reward members hold issued, unused codes for leaves
  the catalog;
- ``tier_removed``: members hold a tier the new version no longer has.

Purchases are always taken, with or without rules for them.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.engine import Program
from loyalty.errors import ConfirmationRequired
from loyalty.models import Event, Member, Redemption

RECENT = timedelta(days=30)
PURCHASE = "purchase"


def warnings(session: Session, current: Program | None, candidate: Program, now: datetime) -> list[dict]:
    """Every risk of making ``candidate`` active in place of ``current`` (None: nothing is active yet)."""
    found = _dropped_actions(session, candidate, now)
    if current is not None:
        found += _removed_rewards(session, current, candidate, now)
        found += _removed_tiers(session, current, candidate)
    return found


def require_confirmation(session: Session, current: Program | None, candidate: Program, now: datetime,
                         confirmed: bool, what: str) -> list[dict]:
    """The warnings; unless ``confirmed``, raise ``confirmation_required`` when there are any."""
    found = warnings(session, current, candidate, now)
    if found and not confirmed:
        raise ConfirmationRequired(
            f"{what} needs a confirmation: {' '.join(warning['message'] for warning in found)} "
            "Send it again with confirm: true to go ahead.", {"warnings": found})
    return found


def _dropped_actions(session: Session, candidate: Program, now: datetime) -> list[dict]:
    counts = session.execute(
        select(Event.type, func.count()).where(Event.occurred_at >= now - RECENT, Event.type != PURCHASE)
        .group_by(Event.type).order_by(Event.type)).all()
    return [{"code": "action_dropped", "action": action, "events_last_30_days": int(count),
             "message": f"No rule would handle '{action}' any more: the tills sent {_counted(count, 'such event')} "
                        f"in the last 30 days, and from now on they would be refused."}
            for action, count in counts if action not in candidate.actions]


def _removed_rewards(session: Session, current: Program, candidate: Program, now: datetime) -> list[dict]:
    gone = [reward for reward in current.rewards if candidate.reward(reward.id) is None]
    if not gone:
        return []
    unused = dict(session.execute(
        select(Redemption.reward_id, func.count())
        .where(Redemption.reward_id.in_([reward.id for reward in gone]), Redemption.status == "issued",
               Redemption.expires_at > now)
        .group_by(Redemption.reward_id)).all())
    return [{"code": "reward_removed", "reward_id": reward.id, "unused_codes": int(unused[reward.id]),
             "message": f"'{reward.name}' leaves the catalog while members hold "
                        f"{_counted(unused[reward.id], 'unused code')} for it."}
            for reward in gone if unused.get(reward.id)]


def _removed_tiers(session: Session, current: Program, candidate: Program) -> list[dict]:
    kept = {tier.id for tier in candidate.tiers}
    gone = [tier for tier in current.tiers if tier.id not in kept]
    if not gone:
        return []
    holders = dict(session.execute(
        select(Member.tier_id, func.count()).where(Member.tier_id.in_([tier.id for tier in gone]),
                                                   Member.status != "erased")
        .group_by(Member.tier_id)).all())
    return [{"code": "tier_removed", "tier_id": tier.id, "members": int(holders[tier.id]),
             "message": f"The {tier.name} tier goes while {_counted(holders[tier.id], 'member')} "
                        f"{'holds' if holders[tier.id] == 1 else 'hold'} it."}
            for tier in gone if holders.get(tier.id)]


def _counted(count: int, thing: str) -> str:
    return f"{count:,} {thing}{'' if count == 1 else 's'}"
