"""The rewards section of the rules YAML: read into Reward values, or rejected at the right line."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from loyalty.engine import RulesInvalid, load_program

DEMO = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()


def with_rewards(block: str) -> str:
    head = DEMO[: DEMO.index("rewards:\n")]
    return head + "rewards:\n" + block


def errors_of(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(RulesInvalid) as caught:
        load_program(text)
    return [(e.line, e.path, e.message) for e in caught.value.errors]


def line_of(text: str, fragment: str) -> int:
    """1-based line of the first `fragment` inside the rewards section."""
    return text[: text.index(fragment, text.index("rewards:\n"))].count("\n") + 1


def test_demo_catalog_reads_as_the_program_describes():
    program = load_program(DEMO)
    five = program.reward("five-off")
    assert (five.points_cost, five.type, five.value, five.currency, five.stripe) == (
        500, "fixed_discount", 500, "USD", True)
    assert program.reward("ten-percent").tiers == ("silver", "gold")
    assert program.reward("gold-tumbler").stock == 100
    assert program.reward("free-drink").code_valid_days == 30
    assert program.reward("nothing") is None


def test_availability_is_checked_on_the_program_calendar():
    text = with_rewards("""  - id: cookie
    name: Cookie
    points_cost: 10
    type: free_item
    available: {from: 2026-12-20, to: 2026-12-26}
    tiers: [gold]
""")
    cookie = load_program(text).reward("cookie")
    ny = load_program(text).timezone
    assert cookie.available_from == date(2026, 12, 20)
    assert cookie.unavailable_reason("gold", datetime(2026, 12, 20, 4, 59, tzinfo=UTC), ny) == (
        "Available from December 20, 2026.")
    assert cookie.unavailable_reason("gold", datetime(2026, 12, 20, 5, 0, tzinfo=UTC), ny) is None
    assert cookie.unavailable_reason("gold", datetime(2026, 12, 27, 5, 0, tzinfo=UTC), ny) == (
        "No longer available: the offer ended on December 26, 2026.")
    assert cookie.unavailable_reason("silver", datetime(2026, 12, 21, tzinfo=UTC), ny) == "Only for gold members."
    names = load_program(text).tier_names
    assert cookie.unavailable_reason("silver", datetime(2026, 12, 21, tzinfo=UTC), ny, names) == (
        "Only for Gold members.")


@pytest.mark.parametrize("block, fragment, message", [
    ("  - id: a\n    name: A\n    points_cost: 10\n    type: coupon\n", "coupon",
     "unknown value 'coupon'"),
    ("  - id: a\n    name: A\n    points_cost: 10\n    type: fixed_discount\n", "type: fixed_discount",
     "a fixed_discount reward needs 'value'"),
    ("  - id: a\n    name: A\n    points_cost: 10\n    type: percent_discount\n    value: 120\n", "120",
     "a discount cannot exceed 100% (got 120)"),
    ("  - id: a\n    name: A\n    points_cost: 0\n    type: free_item\n", "0\n",
     "must be at least 1 (got 0)"),
    ("  - id: a\n    name: A\n    points_cost: 10\n    type: free_item\n    tiers: [silvr]\n", "silvr",
     "unknown tier 'silvr' — did you mean 'silver'?"),
    ("  - id: a\n    name: A\n    points_cost: 10\n    type: free_item\n    stripe: true\n", "true",
     "only fixed_discount, percent_discount, store_credit rewards can be issued through Stripe"),
    ("  - id: a\n    name: A\n    points_cost: 10\n    type: free_item\n"
     "    available: {from: 2026-12-26, to: 2026-12-20}\n",
     "to: 2026-12-20", "the offer ends (2026-12-20) before it starts (2026-12-26)"),
    ("  - id: a\n    name: A\n    points_cost: 10\n    type: free_item\n    colour: red\n", "colour",
     "unknown key 'colour'"),
])
def test_bad_rewards_are_rejected_at_their_line(block, fragment, message):
    text = with_rewards(block)
    found = errors_of(text)
    assert len(found) == 1, found
    line, path, text_message = found[0]
    assert path.startswith("rewards[0]")
    assert message in text_message
    assert line == line_of(text, fragment)


def test_a_reward_id_used_twice_is_rejected():
    block = "  - {id: a, name: A, points_cost: 10, type: free_item}\n" * 2
    assert [m for _, _, m in errors_of(with_rewards(block))] == ["reward id 'a' is used twice"]
