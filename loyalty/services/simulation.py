"""Dry-runs of rules over a list of events for one described member; writes nothing."""

from collections import Counter
from datetime import datetime

from loyalty.engine import EventFacts, Item, MemberFacts, Program, evaluate


def parse_event(raw: dict, now: datetime) -> EventFacts:
    occurred_at = raw.get("occurred_at")
    moment = datetime.fromisoformat(occurred_at.replace("Z", "+00:00")) if occurred_at else now
    return EventFacts(
        type=raw["type"], occurred_at=moment, amount=raw.get("amount"), currency=raw.get("currency"),
        store_id=raw.get("store_id"), channel=raw.get("channel"),
        items=tuple(Item(sku=i.get("sku"), category=i.get("category"), quantity=i["quantity"],
                         unit_amount=i["unit_amount"]) for i in raw.get("items") or ()),
        attributes=raw.get("attributes") or {},
    )


def simulate(program: Program, events: list[EventFacts], tier_id: str | None = None,
             email: str | None = None, referred: bool = False) -> list[dict]:
    """Each event in order, with limits and caps used up as they would be for one member."""
    usage: Counter = Counter()
    results = []
    tier = tier_id or program.base_tier.id
    for facts in events:
        member = MemberFacts(member_id="simulated", tier_id=tier, email=email, referred=referred,
                             usage=dict(usage))
        evaluation = evaluate(program, facts, member)
        for increment in evaluation.usage:
            if increment.member_id == "simulated":
                usage[(increment.counter_id, increment.period_key)] += increment.amount
        results.append({
            "type": facts.type,
            "occurred_at": facts.occurred_at,
            "awarded": [a for a in evaluation.awards],
            "explanation": [line.as_dict() for line in evaluation.explanation],
        })
    return results
