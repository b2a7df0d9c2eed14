"""Dry-runs of rules over a list of events for one described member; writes nothing."""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from loyalty.engine import EventFacts, MemberFacts, Program, ReferrerFacts, evaluate
from loyalty.errors import NotFound
from loyalty.models import Member
from loyalty.services import backtest_cards, counters
from loyalty.services.replayed_progress import ReplayedProgress
from loyalty.services.tiers import program_day


@dataclass
class _SimulatedCards(ReplayedProgress):
    """The simulated member's cards, challenges and streaks, from new, as the events advance them."""

    cards: dict = field(default_factory=dict)
    stamp_days: set = field(default_factory=set)


def member_state(session: Session, member_id: str) -> dict:
    """A real member as ``simulate`` keyword arguments: tier, email, referrer, limits and caps used."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.")
    referrer = session.get(Member, member.referred_by_id) if member.referred_by_id else None
    return {
        "member_id": member.id, "tier_id": member.tier_id, "email": member.email,
        "referred": referrer is not None, "usage": counters.counters_of(session, member.id),
        "referrer": ReferrerFacts(member_id=referrer.id, email=referrer.email, status=referrer.status,
                                  usage=counters.counters_of(session, referrer.id)) if referrer else None,
    }


def simulate(program: Program, events: list[EventFacts], tier_id: str | None = None,
             email: str | None = None, referred: bool = False, *, member_id: str = "simulated",
             usage: Mapping | None = None, referrer: ReferrerFacts | None = None) -> list[dict]:
    """Each event in order, with limits and caps used up as they would be for one member."""
    used: dict[str, Counter] = {member_id: Counter(usage or {})}
    if referrer is not None:
        used[referrer.member_id] = Counter(referrer.usage)
    results = []
    tier = tier_id or program.base_tier.id
    cards = _SimulatedCards()
    for facts in events:
        referrer_now = None
        if referrer is not None:
            referrer_now = ReferrerFacts(referrer.member_id, referrer.email, referrer.status,
                                         dict(used[referrer.member_id]))
        member = MemberFacts(member_id=member_id, tier_id=tier, email=email, referred=referred,
                             referrer=referrer_now, usage=dict(used[member_id]),
                             cards=backtest_cards.progress(program, cards, facts.type,
                                                           program_day(program, facts.occurred_at)),
                             challenges=cards.challenge_progress(program, facts.type, facts.occurred_at),
                             streaks=dict(cards.streaks))
        evaluation = evaluate(program, facts, member)
        backtest_cards.stamp(cards, evaluation.stamps, Counter())
        cards.advance(program, facts.occurred_at, evaluation.steps, evaluation.streak_steps)
        for increment in evaluation.usage:
            if increment.member_id in used:
                used[increment.member_id][(increment.counter_id, increment.period_key)] += increment.amount
        results.append({
            "type": facts.type,
            "occurred_at": facts.occurred_at,
            "awarded": list(evaluation.awards),
            "explanation": [line.as_dict() for line in evaluation.explanation],
            "card_explanation": list(evaluation.card_explanation),
            "challenge_explanation": list(evaluation.challenge_explanation),
            "streak_explanation": list(evaluation.streak_explanation),
        })
    return results
