"""A new version's changes in a marketer's words, rule by rule, tier by tier, reward by reward."""

from pathlib import Path

from loyalty.engine import load_program
from loyalty.engine.program_changes import program_changes

DEMO = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
OLD = load_program(DEMO)


def changes_to(text: str) -> list[str]:
    return program_changes(OLD, load_program(text))


def test_the_same_program_changes_nothing():
    assert changes_to(DEMO + "\n# a comment\n") == []


def test_an_award_an_action_a_limit_and_a_window_in_words():
    edited = (DEMO.replace("award: {points_per_dollar: 1, of: items, where: {category: coffee}}",
                           "award: {points_per_dollar: 2, of: items, where: {category: coffee}}")
              .replace("on: review", "on: reveiw")
              .replace("limit: {count: 3, per: calendar_month}", "limit: {count: 5, per: calendar_month}")
              .replace("window: {from: 2026-12-20, to: 2026-12-26}", "window: {from: 2026-12-19, to: 2026-12-27}"))
    assert changes_to(edited) == [
        "coffee-bonus: 1 point per $1 on coffee → 2 points per $1 on coffee",
        "holiday-double: Dec 20–Dec 26, 2026 → Dec 19–Dec 27, 2026",
        "review: now for reveiw (was review)",
        "review: 3 per calendar month → 5 per calendar month",
    ]


def test_rules_tiers_and_rewards_added_removed_or_changed():
    edited = (DEMO.replace("    - {id: silver, name: Silver, qualifying_points: 500, multiplier: 1.25}",
                           "    - {id: silver, name: Silver, qualifying_points: 400, multiplier: 1.5}")
              .replace("points_cost: 150", "points_cost: 120")
              .replace("""  - id: birthday
    description: Happy birthday
    on: birthday
    award: {points: 200}
    limit: {count: 1, per: calendar_year}
""", """  - id: visit
    description: Thanks for stopping by
    on: visit
    award: {points: 5}
    limit: {count: 1, per: day}
"""))
    assert changes_to(edited) == [
        "New rule visit: 5 points for visit, 1 per day",
        "Rule birthday removed (200 points for birthday, 1 per calendar year)",
        "Tier Silver: 500 → 400 qualifying points",
        "Tier Silver: × 1.25 → × 1.5",
        "Reward Any drink, any size: 150 → 120 points",
    ]


def test_caps_settings_and_reward_details_are_said_too():
    old = load_program(DEMO)
    new = load_program(DEMO.replace("max_points: 2000", "max_points: 1500")
                       .replace("hold_days: 365", "hold_days: 180")
                       .replace("lapsed_after_days: 180", "lapsed_after_days: 200")
                       .replace("    tiers: [gold]\n    stock: 100", "    tiers: [silver, gold]\n    stock: 40"))
    assert program_changes(old, new) == [
        "Cap purchase-daily: at most 2,000 points per day from spend, coffee-bonus, holiday-double"
        " → at most 1,500 points per day from spend, coffee-bonus, holiday-double",
        "Reward Gold tumbler: stock 100 → 40",
        "Reward Gold tumbler: for Gold → for Silver, Gold",
        "A tier is held for (days): 365 → 180",
        "Lapsed after (days): 180 → 200",
    ]
