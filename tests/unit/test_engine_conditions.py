"""Conditions, windows and item filters beyond the demo program."""

from datetime import UTC, datetime
from textwrap import dedent

import pytest

from loyalty.engine import EventFacts, Item, MemberFacts, evaluate, load_program

PROGRAM = load_program(
    dedent("""\
    program: {name: Conditions, currency: USD, timezone: America/New_York}
    tiers:
      levels:
        - {id: member, qualifying_points: 0}
        - {id: silver, qualifying_points: 500, multiplier: 1.25}
    rules:
      - id: downtown-weekend
        on: purchase
        conditions: {store_id: {in: [downtown, harbour]}, channel: {not_equals: web}}
        window: {days_of_week: [sat, sun]}
        award: {points_per_dollar: 2.5}
      - id: five-star-review
        on: review
        conditions: {attributes.rating: {at_least: 4.5}, member.tier: {at_least: silver}}
        award: {points: 40}
        multiply_by_tier: true
      - id: latte-bonus
        on: purchase
        award: {points_per_dollar: 1, of: items, where: {sku: [latte-s, latte-l], category: coffee}}
""")
)
SATURDAY = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def earned(event, tier="member"):
    result = evaluate(PROGRAM, event, MemberFacts("mem_1", tier))
    return {a.rule_id: a.points for a in result.awards}, {
        e.rule_id: e.reason for e in result.explanation
    }


def test_weekend_purchase_in_a_listed_store_earns_2_5_per_dollar():
    event = EventFacts("purchase", SATURDAY, amount=1000, store_id="harbour", channel="pos")
    assert earned(event)[0] == {"downtown-weekend": 25}


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        (
            {"store_id": "uptown"},
            "Condition not met: store_id must be one of downtown, harbour (was uptown)",
        ),
        ({"channel": "web"}, "Condition not met: channel must not be web (was web)"),
        (
            {"occurred_at": MONDAY},
            "Only on Sat, Sun (America/New_York); this purchase was on a Monday",
        ),
        (
            {"store_id": None},
            "Condition not met: store_id must be one of downtown, harbour (was missing)",
        ),
    ],
)
def test_conditions_say_why_they_failed(changes, why):
    fields = {"occurred_at": SATURDAY, "amount": 1000, "store_id": "downtown", "channel": "pos"}
    fields.update(changes)
    points, reasons = earned(EventFacts("purchase", **fields))
    assert "downtown-weekend" not in points
    assert reasons["downtown-weekend"] == why


def test_attribute_and_tier_conditions():
    review = EventFacts("review", MONDAY, attributes={"rating": 5})
    assert earned(review, "silver")[0] == {"five-star-review": 50}
    points, reasons = earned(review, "member")
    assert points == {}
    assert reasons["five-star-review"] == (
        "Condition not met: member.tier must be at least silver (was member)"
    )
    points, reasons = earned(EventFacts("review", MONDAY, attributes={"rating": 4}), "silver")
    assert reasons["five-star-review"] == (
        "Condition not met: attributes.rating must be at least 4.5 (was 4)"
    )


def test_item_filter_needs_both_sku_and_category():
    items = (Item("latte-l", "coffee", 2, 500), Item("latte-s", "tea", 1, 400))
    points, reasons = earned(EventFacts("purchase", MONDAY, amount=1400, items=items))
    assert points == {"latte-bonus": 10}
    assert reasons["latte-bonus"] == (
        "1 point per $1 on $10.00 of items in category coffee with sku latte-l or latte-s = 10 points"
    )
    _, reasons = earned(EventFacts("purchase", MONDAY, amount=400, items=items[1:]))
    assert reasons["latte-bonus"] == "No items in category coffee with sku latte-l or latte-s"
