"""Properties of the purchase rules over random purchases."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.engine import EventFacts, Item, MemberFacts, evaluate, load_program_dir

PROGRAM = load_program_dir(Path(__file__).resolve().parents[2] / "rules")
PURCHASE_RULES = ("spend", "coffee-bonus", "holiday-double")
START = datetime(
    2026, 12, 18, 5, 0, tzinfo=UTC
)  # midnight in New York, two days before the holidays

purchases = st.lists(
    st.tuples(
        st.integers(0, 4 * 24 * 60 - 1),  # minute within four New York days
        st.integers(0, 200_000),  # amount
        st.integers(0, 100),  # percent of it that is coffee
    ),
    min_size=1,
    max_size=12,
)


def uncapped(rule_id, event, multiplier):
    if rule_id == "coffee-bonus":
        base = sum(i.quantity * i.unit_amount for i in event.items if i.category == "coffee")
    elif rule_id == "holiday-double" and not (
        20 <= (event.occurred_at - timedelta(hours=5)).day <= 26
    ):
        return 0
    else:
        base = event.amount
    return (base * multiplier.numerator) // (100 * multiplier.denominator)


@settings(max_examples=150, deadline=None)
@given(purchases, st.sampled_from(["member", "silver", "gold"]))
def test_purchase_points_per_day_never_exceed_the_cap_and_follow_the_floor_formula(events, tier):
    usage: dict = {}
    per_day: dict = {}
    multiplier = PROGRAM.tier(tier).multiplier
    for minute, amount, coffee_percent in sorted(events):
        coffee = amount * coffee_percent // 100
        items = (Item("latte", "coffee", 1, coffee), Item("cake", "pastry", 1, amount - coffee))
        event = EventFacts(
            "purchase", START + timedelta(minutes=minute), amount=amount, items=items
        )
        day = (event.occurred_at - timedelta(hours=5)).date().isoformat()
        result = evaluate(PROGRAM, event, MemberFacts("mem_1", tier, usage=dict(usage)))
        earned = {a.rule_id: a.points for a in result.awards}
        left = 2000 - per_day.get(day, 0)
        for rule_id in PURCHASE_RULES:
            expected = min(uncapped(rule_id, event, multiplier), max(left, 0))
            assert earned.get(rule_id, 0) == expected
            left -= expected
        per_day[day] = per_day.get(day, 0) + sum(earned.get(r, 0) for r in PURCHASE_RULES)
        assert per_day[day] <= 2000
        for inc in result.usage:
            key = (inc.counter_id, inc.period_key)
            usage[key] = usage.get(key, 0) + inc.amount
    assert {k: v for (c, k), v in usage.items() if c == "cap:purchase-daily"} == {
        d: p for d, p in per_day.items() if p
    }
