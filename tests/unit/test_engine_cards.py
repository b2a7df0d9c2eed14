"""Stamp cards in the YAML (checked with file:line:column errors) and in the pure engine."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from loyalty.engine import EventFacts, Item, MemberFacts, RulesInvalid, evaluate, load_program, load_program_dir
from loyalty.engine.cards import Card, CardProgress, stamp_card, taken_back

RULES = Path(__file__).resolve().parents[2] / "rules"
DEMO_TEXT = (RULES / "program.yaml").read_text()
DEMO = load_program_dir(RULES)
COFFEE_CARD = """    stamp:
      where: {category: coffee}
      per: day
    stamps: 9
    reward: free-drink
"""
LATTE = Item("latte-l", "coffee", 1, 450)
MUFFIN = Item("muffin", "pastry", 1, 450)
NOON_NY = datetime(2026, 11, 23, 17, tzinfo=UTC)


def errors_of(text):
    with pytest.raises(RulesInvalid) as caught:
        load_program(text, "program.yaml")
    return [(e["line"], e["column"], e["path"], e["message"]) for e in (x.as_dict() for x in caught.value.errors)]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def purchase(amount=450, items=(LATTE,), at=NOON_NY):
    return EventFacts("purchase", at, amount=amount, currency="USD", items=tuple(items))


def test_the_demo_program_has_the_coffee_card_of_demo_program_md():
    [card] = DEMO.cards
    assert card == Card(id="coffee-card", name="Coffee card", description="Nine coffees, and the next drink is on us",
                        stamps=9, categories=frozenset({"coffee"}), skus=None, min_amount=1, per="day",
                        reward_id="free-drink", points=None, inactive_days=None)
    assert DEMO.reward("free-drink").points_cost == 150  # what the card gives at no point cost


def test_catalog_offers_cards_to_the_editor():
    catalog = DEMO.catalog()
    assert catalog["cards"] == [{"id": "coffee-card", "name": "Coffee card", "stamps": 9}]
    assert catalog["card_keys"]["stamp_per"] == ["day", "visit"]
    assert catalog["card_keys"]["completes_with"] == ["reward", "points"]
    assert "free-drink" in catalog["rewards"]


@pytest.mark.parametrize(("original", "broken", "at", "path", "message"), [
    ("stamps: 9", "stamps: 1", "1", "cards[0].stamps", "must be at least 2 (got 1)"),
    ("stamps: 9", "stamps: nine", "nine", "cards[0].stamps", "expected a whole number of stamps, got 'nine'"),
    ("per: day", "per: week", "week", "cards[0].stamp.per", "unknown value 'week' (expected one of: day, visit)"),
    ("where: {category: coffee}", "where: {colour: coffee}", "colour", "cards[0].stamp.where",
     "unknown key 'colour' (expected one of: category, sku)"),
    ("per: day", "per: day, min_amount: 0", "0", "cards[0].stamp.min_amount", "must be at least 1 (got 0)"),
])
def test_a_broken_card_is_reported_at_its_line_and_column(original, broken, at, path, message):
    if "min_amount" in broken:
        broken = "per: day\n      min_amount: 0"
    start = DEMO_TEXT.index("cards:")
    text = DEMO_TEXT[:start] + DEMO_TEXT[start:].replace(original, broken, 1)
    [(line, column, found_path, found_message)] = errors_of(text)
    assert (found_path, found_message) == (path, message)
    written = text[start:].index(broken) + start + broken.rindex(at)
    assert (line, column) == (text[:written].count("\n") + 1, written - text.rindex("\n", 0, written))


def test_a_card_gives_a_reward_or_points_not_both():
    text = DEMO_TEXT.replace("    reward: free-drink\n\n# Earning",
                             "    reward: free-drink\n    points: 100\n\n# Earning")
    [(line, column, path, message)] = errors_of(text)
    assert path == "cards[0]" and "exactly one of 'reward'" in message
    assert (line, column) == (line_of(text, "  - id: coffee-card"), 5)


def test_a_card_may_not_take_a_rules_id():
    text = DEMO_TEXT.replace("  - id: coffee-card", "  - id: coffee-bonus")
    [(line, _column, path, message)] = errors_of(text)
    assert (path, message) == ("cards[0].id", "id 'coffee-bonus' is already used by a rule")
    assert line == line_of(text, "  - id: coffee-bonus")


def test_a_cards_reward_cannot_be_stocked_or_issued_through_stripe():
    for reward_id, words in (("gold-tumbler", "has a stock of 100"), ("five-off", "issued through Stripe")):
        [(_line, _column, path, message)] = errors_of(DEMO_TEXT.replace("reward: free-drink", f"reward: {reward_id}"))
        assert path == "cards[0].reward" and words in message


def test_a_points_card_and_a_visit_card_load():
    text = DEMO_TEXT.replace("    reward: free-drink\n\n# Earning", "    reward: free-drink\n"
                             "  - id: tea-card\n    name: Tea card\n    stamp: {where: {category: tea}, per: visit,"
                             " min_amount: 300}\n    stamps: 5\n    points: 100\n    expires: {inactive_days: 90}"
                             "\n\n# Earning")
    tea = load_program(text).card("tea-card")
    assert (tea.per, tea.min_amount, tea.points, tea.reward_id, tea.inactive_days) == ("visit", 300, 100, None, 90)


def test_stamp_8_of_9_completes_the_card_and_the_next_starts_a_new_one():
    card = DEMO.card("coffee-card")
    day = date(2026, 11, 23)
    stamp, code, args = stamp_card(card, purchase(), CardProgress(stamps=8), day)
    assert (stamp.stamps, stamp.completes, stamp.reward_id, code) == (9, True, "free-drink", "card_completed")
    assert args == {"card": "Coffee card", "stamp": 9, "of": 9, "reward": "free-drink", "points": None}
    stamp, code, _ = stamp_card(card, purchase(), CardProgress(stamps=9, completed=1), day)
    assert (stamp.stamps, stamp.completes, code) == (1, False, "stamp")
    stamp, _, _ = stamp_card(card, purchase(), CardProgress(stamps=-1, completed=1), day)
    assert stamp.stamps == 0


def test_no_stamp_for_amount_0_another_category_or_a_second_purchase_that_day():
    card, day = DEMO.card("coffee-card"), date(2026, 11, 23)
    assert stamp_card(card, purchase(amount=0), CardProgress(), day)[:2] == (None, "stamp_min_amount")
    assert stamp_card(card, purchase(items=[MUFFIN]), CardProgress(), day)[:2] == (None, "no_matching_items")
    assert stamp_card(card, purchase(), CardProgress(stamps=3, stamped_that_day=True), day)[:2] == (
        None, "already_stamped")


def test_taking_a_stamp_back():
    card = DEMO.card("coffee-card")
    assert taken_back(card, 9, completion_unused=True) == (8, True)
    assert taken_back(card, 9, completion_unused=False) == (-1, False)
    assert taken_back(card, 4, completion_unused=True) == (3, False)
    assert taken_back(card, 0, completion_unused=False) == (-1, False)


def test_lapsed_stamps_start_over_when_the_card_says_they_expire():
    card = Card("tea", "Tea card", "", 5, inactive_days=30)
    progress = CardProgress(stamps=3, last_stamp_day=date(2026, 10, 1))
    assert stamp_card(card, purchase(items=()), progress, date(2026, 10, 31))[0].stamps == 4
    assert stamp_card(card, purchase(items=()), progress, date(2026, 11, 1))[0].stamps == 1
    assert progress.shown(card, date(2026, 11, 1)) == 0


def test_evaluate_returns_the_stamp_apart_from_the_rules_explanation():
    member = MemberFacts("mem_1", "member", cards={"coffee-card": CardProgress(stamps=6)})
    result = evaluate(DEMO, purchase(), member)
    assert [line.rule_id for line in result.explanation] == ["spend", "coffee-bonus", "holiday-double", "referral"]
    [line] = result.card_explanation
    assert (line.rule_id, line.matched, line.reason) == ("coffee-card", True, "Stamp 7 of 9 on the Coffee card")
    assert [(s.card_id, s.stamps, s.completes) for s in result.stamps] == [("coffee-card", 7, False)]
    assert sum(a.points for a in result.awards) == 8  # the card adds no points


def test_a_points_card_awards_its_points_on_completion_as_a_non_qualifying_award():
    text = DEMO_TEXT.replace("    reward: free-drink\n\n", "    points: 100\n\n")
    program = load_program(text)
    result = evaluate(program, purchase(), MemberFacts("mem_1", "member", cards={"coffee-card": CardProgress(8)}))
    [card_award] = [a for a in result.awards if a.rule_id == "coffee-card"]
    assert (card_award.points, card_award.spend_based, card_award.tier_qualifying) == (100, False, False)
    assert result.card_explanation[0].reason == "Stamp 9 of 9: the Coffee card is complete and gives 100 points"


def test_expires_takes_exactly_one_of_inactive_days_or_after_days():
    text = DEMO_TEXT.replace(COFFEE_CARD, COFFEE_CARD + "    expires: {after_days: 30}\n")
    [card] = load_program(text).cards
    assert (card.after_days, card.inactive_days) == (30, None)
    both = DEMO_TEXT.replace(COFFEE_CARD, COFFEE_CARD + "    expires: {after_days: 30, inactive_days: 60}\n")
    [(line, _column, path, message)] = errors_of(both)
    assert (line, path) == (line_of(both, "    expires:"), "cards[0].expires")
    assert message.startswith("give exactly one of 'inactive_days'")
    assert "after_days" in DEMO.catalog()["card_keys"]["expires"]


def test_each_stamp_lapses_after_days_after_its_own_day_and_the_count_drops():
    card = Card("c", "Coffee card", "", stamps=9, after_days=30)
    days = (date(2026, 11, 1), date(2026, 11, 5), date(2026, 11, 20))
    progress = CardProgress(3, 0, date(2026, 11, 20), days=days)
    assert progress.shown(card, date(2026, 12, 1)) == 3  # the 1st still counts 30 days on
    assert progress.shown(card, date(2026, 12, 2)) == 2
    assert progress.shown(card, date(2026, 12, 6)) == 1
    stamp, code, args = stamp_card(card, purchase(at=datetime(2026, 12, 6, 17, tzinfo=UTC)), progress,
                                   date(2026, 12, 6))
    assert (stamp.stamps, code, args["stamp"]) == (2, "stamp", 2)
    # the count kept at the 6 December stamp left out the 1st and the 5th: only the 20th lapses after it
    later = CardProgress(2, 0, date(2026, 12, 6), days=(*days, date(2026, 12, 6)))
    assert later.shown(card, date(2026, 12, 21)) == 1
    assert CardProgress(9, 1, date(2026, 11, 20), days=()).shown(card, date(2027, 6, 1)) == 9  # complete: kept
