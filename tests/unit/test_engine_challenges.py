"""Challenges and badges in the YAML (checked with file:line:column errors) and in the pure engine."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from loyalty.engine import EventFacts, Item, MemberFacts, RulesInvalid, evaluate, load_program
from loyalty.engine.challenges import ChallengeProgress

DEMO_TEXT = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
CHALLENGES = """badges:
  - id: explorer
    name: Explorer
    image: https://example.com/badges/explorer.png
challenges:
  - id: three-kinds
    name: Three kinds a month
    goal: {distinct_categories: 3}
    within: calendar_month
    award: {badge: explorer}
  - id: regular
    name: Three visits a week
    goal: {count: 3}
    within: {days: 7}
    award: {points: 30}
    repeat: true
  - id: big-month
    name: Spend $50 on coffee this year
    goal: {amount: 5000}
    where: {category: coffee}
    within: calendar_year
    award: {points: 100}

"""
TEXT = DEMO_TEXT.replace("# Earning rules.", CHALLENGES + "# Earning rules.", 1)
PROGRAM = load_program(TEXT)
NOON = datetime(2026, 11, 23, 17, tzinfo=UTC)


def item(category, amount=450):
    return Item(f"{category}-1", category, 1, amount)


def purchase(*items, amount=450):
    return EventFacts("purchase", NOON, amount=amount, currency="USD", items=tuple(items))


def errors_of(text):
    with pytest.raises(RulesInvalid) as caught:
        load_program(text)
    return [(e["line"], e["column"], e["path"], e["message"]) for e in (x.as_dict() for x in caught.value.errors)]


def lines(result):
    return {line.rule_id: line for line in result.challenge_explanation}


def test_challenges_and_badges_load_and_the_catalog_offers_them():
    three, regular, big = PROGRAM.challenges
    assert (three.goal, three.target, three.per, three.days, three.badge_id, three.repeat) == (
        "distinct_categories", 3, "calendar_month", None, "explorer", False)
    assert (regular.goal, regular.target, regular.per, regular.days, regular.points, regular.repeat) == (
        "count", 3, None, 7, 30, True)
    assert (big.goal, big.target, big.categories) == ("amount", 5000, frozenset({"coffee"}))
    assert PROGRAM.badge("explorer").image == "https://example.com/badges/explorer.png"
    catalog = PROGRAM.catalog()
    assert [c["id"] for c in catalog["challenges"]] == ["three-kinds", "regular", "big-month"]
    assert catalog["badges"] == [{"id": "explorer", "name": "Explorer",
                                  "image": "https://example.com/badges/explorer.png"}]
    assert catalog["challenge_keys"]["goal"] == ["count", "amount", "distinct_categories"]


@pytest.mark.parametrize(("old", "new", "at", "path", "message"), [
    ("award: {badge: explorer}", "award: {badge: explorar}", "explorar", "challenges[0].award.badge",
     "unknown badge 'explorar' — did you mean 'explorer'?"),
    ("goal: {count: 3}", "goal: {count: 3, amount: 10}", "{count", "challenges[1].goal",
     "give exactly one of count, amount, distinct_categories"),
    ("within: {days: 7}", "within: fortnight", "fortnight", "challenges[1].within",
     "unknown value 'fortnight' (expected one of: calendar_month, calendar_year, day, week)"),
    ("award: {points: 30}", "award: {points: 0}", "0}", "challenges[1].award.points", "must be at least 1 (got 0)"),
])
def test_a_broken_challenge_is_reported_at_its_line_and_column(old, new, at, path, message):
    text = TEXT.replace(old, new, 1)
    [(line, column, found_path, found_message)] = errors_of(text)
    assert (found_path, found_message) == (path, message)
    where = text.index(new) + new.index(at)
    assert (line, column) == (text[:where].count("\n") + 1, where - text.rindex("\n", 0, where))


def test_an_amount_goal_needs_purchases():
    text = TEXT.replace("    goal: {count: 3}\n", "    on: review\n    goal: {amount: 3}\n", 1)
    [(_line, _column, path, message)] = errors_of(text)
    assert (path, message) == ("challenges[1].goal.amount",
                               "'amount' needs purchases, and this challenge is on 'review'")


def test_2_of_3_categories_this_month_then_the_third_completes_with_the_badge():
    member = MemberFacts("mem_1", "member", challenges={
        "three-kinds": ChallengeProgress(1, 450, frozenset({"coffee"}))})
    line = lines(evaluate(PROGRAM, purchase(item("tea")), member))["three-kinds"]
    assert (line.matched, line.reason) == (True, "2 of 3 categories this month")
    member = MemberFacts("mem_1", "member", challenges={
        "three-kinds": ChallengeProgress(2, 900, frozenset({"coffee", "tea"}))})
    result = evaluate(PROGRAM, purchase(item("pastry")), member)
    assert lines(result)["three-kinds"].reason == "3 of 3 categories this month: Three kinds a month complete, " \
                                                  "the explorer badge"
    [step] = [s for s in result.steps if s.challenge_id == "three-kinds"]
    assert (step.completes, step.badge_id, step.categories) == (True, "explorer", ("pastry",))
    again = evaluate(PROGRAM, purchase(item("coffee")), member)
    assert lines(again)["three-kinds"].reason == "2 of 3 categories this month: no new category"


def test_a_completed_challenge_that_does_not_repeat_counts_no_more():
    member = MemberFacts("mem_1", "member", challenges={"three-kinds": ChallengeProgress(done=True)})
    line = lines(evaluate(PROGRAM, purchase(item("juice")), member))["three-kinds"]
    assert (line.matched, line.reason) == (False, "Three kinds a month is already complete")


def test_the_third_visit_in_seven_days_awards_30_points_apart_from_the_rules():
    member = MemberFacts("mem_1", "member", challenges={"regular": ChallengeProgress(2)})
    result = evaluate(PROGRAM, purchase(item("coffee")), member)
    assert lines(result)["regular"].reason == "3 of 3 purchases in the last 7 days: Three visits a week complete, " \
                                              "30 points"
    [bonus] = [a for a in result.awards if a.rule_id == "regular"]
    assert (bonus.points, bonus.spend_based, bonus.tier_qualifying) == (30, False, False)
    assert [line.rule_id for line in result.explanation] == ["spend", "coffee-bonus", "holiday-double", "referral"]


def test_an_amount_goal_counts_the_matching_items_in_money():
    member = MemberFacts("mem_1", "member", challenges={"big-month": ChallengeProgress(3, 1350)})
    line = lines(evaluate(PROGRAM, purchase(item("coffee", 900), item("pastry", 900), amount=1800), member))[
        "big-month"]
    assert line.reason == "$22.50 of $50.00 spent this year"
    assert "big-month" not in lines(evaluate(PROGRAM, purchase(item("pastry")), member))
