"""Forms and YAML are two views of one document: form → YAML → form gives back the same, comments kept,
and a form's edit changes only what it changed."""

import difflib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.engine import load_program
from loyalty.errors import RulesRejected, ValidationFailed
from loyalty.services.program_builder import SECTIONS, FormInvalid, apply_form, outline, remove_item
from loyalty.services.program_builder import forms as program_forms

HERE = Path(__file__).resolve().parent
DEMO = (HERE.parents[1] / "rules" / "program.yaml").read_text()
EVERY = (HERE / "fixtures" / "every_construct.yaml").read_text()


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def every_form(text: str):
    """(section, key, fields) for every item and settings section of ``text``."""
    forms = outline(text)
    for section, (_, _, is_list) in SECTIONS.items():
        if is_list:
            yield from ((section, key, fields) for key, fields in forms[section])
        else:
            yield section, "", forms[section]


@pytest.mark.parametrize("text", [DEMO, EVERY], ids=["demo", "every-construct"])
def test_every_form_applied_unchanged_writes_the_text_back_byte_for_byte(text):
    forms = list(every_form(text))
    assert len(forms) >= 16
    if text is EVERY:  # the fixture holds an item of every section the builder has a form for
        assert {section for section, _, _ in forms} == set(SECTIONS)
    for section, key, fields in forms:
        assert apply_form(text, section, key, fields) == text, (section, key)


@pytest.mark.parametrize("text", [DEMO, EVERY], ids=["demo", "every-construct"])
def test_form_yaml_form_gives_the_same_form(text):
    for section, key, fields in every_form(text):
        kind = SECTIONS[section][0]
        assert program_forms.fields(kind, program_forms.data(kind, fields)) == fields, (section, key)


def test_the_forms_show_what_the_yaml_says():
    forms = outline(EVERY)
    rules = dict(forms["rules"])
    assert rules["spend"]["condition_field"] == ["amount", "amount", "store_id", "channel", "member.tier"]
    assert rules["spend"]["condition_value"] == ["100", "100000", "centro, 0042", "web", "plus"]
    assert (rules["pastries"]["award"], rules["pastries"]["item_by"], rules["pastries"]["item_values"]) == (
        "items", "sku", "croissant, ensaimada")
    assert rules["pastries"]["days_of_week"] == ["sat", "sun"]
    assert (rules["pastries"]["expires_after_count"], rules["pastries"]["expires_after_unit"],
            rules["pastries"]["expires_end_of"]) == ("3", "months", "month")
    assert rules["referral"]["award"] == "referral" and rules["referral"]["referrer_limit_per"] == "calendar_year"
    assert rules["review"]["expires_after_unit"] == "never"
    assert forms["expiry"] == {"after_count": "24", "after_unit": "months", "end_of": "quarter", "on": "",
                               "inactive_after_count": "12", "inactive_after_unit": "months",
                               "redate_earned": True}
    assert dict(forms["rewards"])["five-off"]["tiers"] == ["plus", "max"]


def test_a_changed_value_changes_its_line_only_and_comments_stay():
    review = dict(outline(DEMO)["rules"])["review"]
    edited = apply_form(DEMO, "rules", "review", {**review, "points": "30", "limit_count": "5"})
    assert changed_lines(DEMO, edited) == [
        "-    award: {points: 25}", "-    limit: {count: 3, per: calendar_month}",
        "+    award: {points: 30}", "+    limit: {count: 5, per: calendar_month}"]
    coffee = dict(outline(DEMO)["rules"])["coffee-bonus"]
    edited = apply_form(DEMO, "rules", "coffee-bonus", {**coffee, "points_per_dollar": "1.5"})
    assert changed_lines(DEMO, edited) == [
        "-    award: {points_per_dollar: 1, of: items, where: {category: coffee}}",
        "+    award: {points_per_dollar: 1.5, of: items, where: {category: coffee}}"]


def test_removing_the_last_key_keeps_the_comment_that_follows_it():
    referral = dict(outline(DEMO)["rules"])["referral"]
    edited = apply_form(DEMO, "rules", "referral", {**referral, "limit_count": ""})
    assert changed_lines(DEMO, edited) == ["-    limit: {count: 1, per: member}          # once per referred member"]
    assert ("block_shared_email: true              # no points if both share an email\n\n"
            "  # The jobs (`flask --app app jobs run`) send the birthday event") in edited


def test_added_keys_go_in_their_place_before_the_blank_line():
    spend = dict(outline(DEMO)["rules"])["spend"]
    edited = apply_form(DEMO, "rules", "spend", {**spend, "limit_count": "2", "limit_per": "day",
                                                 "window_from": "2027-03-01", "days_of_week": ["sat"]})
    assert ("    award: {points_per_dollar: 1}           # of the whole amount\n    multiply_by_tier: true\n"
            "    window: {from: 2027-03-01, days_of_week: [sat]}\n    limit: {count: 2, per: day}\n\n"
            "  - id: coffee-bonus") in edited
    assert load_program(edited).rule("spend").window.start == date(2027, 3, 1)


def test_a_new_item_is_added_after_the_last_one_and_the_next_sections_comments_stay():
    blank = program_forms.fields("rule", {})
    edited = apply_form(DEMO, "rules", "", {**blank, "id": "visit", "description": "Thanks for visiting",
                                            "on": "visit", "award": "points", "points": "5"})
    assert ("    limit: {count: 3, per: calendar_month}\n\n  - id: visit\n    description: Thanks for visiting\n"
            "    on: visit\n    award: {points: 5}\n\n# The reward catalog.") in edited
    tier = apply_form(DEMO, "tiers", "", {"id": "platinum", "name": "Platinum", "qualifying_points": "5000",
                                          "multiplier": "2"})
    assert changed_lines(DEMO, tier) == [
        "+    - {id: platinum, name: Platinum, qualifying_points: 5000, multiplier: 2}"]


def test_removing_an_item_takes_its_own_lines_and_leaves_the_comments_of_the_next():
    edited = remove_item(DEMO, "rules", "referral")
    assert "id: referral" not in edited
    assert ("    limit: {count: 1, per: member}          # once per member, ever\n\n"
            "  # The jobs (`flask --app app jobs run`)") in edited
    birthday_first = remove_item(DEMO, "rules", "birthday")
    assert "# The jobs" not in birthday_first  # the comment above an item describes it and goes with it
    last = remove_item(DEMO, "rewards", "gold-tumbler")
    assert last.endswith("    tiers: [silver, gold]\n")
    assert "\n\n\n" not in remove_item(DEMO, "rules", "welcome")


def test_what_a_form_cannot_take_says_which_field_and_why():
    review = dict(outline(DEMO)["rules"])["review"]
    with pytest.raises(FormInvalid) as invalid:
        apply_form(DEMO, "rules", "review", {**review, "points": "lots", "id": "", "limit_per": "fortnight"})
    assert invalid.value.details["fields"] == {"id": ["required"], "points": ["a whole number"],
                                               "limit_per": ["one of member, day, week, calendar_month, "
                                                             "calendar_year"]}
    with pytest.raises(FormInvalid) as taken:
        apply_form(DEMO, "rules", "review", {**review, "id": "spend"})
    assert taken.value.details["fields"] == {"id": ["another way to earn is already called 'spend'"]}
    with pytest.raises(RulesRejected) as rejected:  # what only the whole program can say, the engine says
        apply_form(DEMO, "rules", "review", {**review, "award": "amount", "points_per_dollar": "1"})
    assert "points per dollar needs a purchase" in rejected.value.details["errors"][0]["message"]
    with pytest.raises(ValidationFailed):
        apply_form(DEMO, "rules", "gone", review)
    with pytest.raises(RulesRejected):
        apply_form("rules: [", "rules", "review", review)


# Generated programs --------------------------------------------------------------------------------------

IDS = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
PERIOD = st.sampled_from(["member", "day", "week", "calendar_month", "calendar_year"])
DAYS = st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1, max_size=3,
                unique=True)
WORDS = st.from_regex(r"[A-Za-z][A-Za-z ]{0,20}[a-z]", fullmatch=True)


@st.composite
def rules(draw, rule_id: str) -> dict:
    kind = draw(st.sampled_from(["points", "amount", "items", "referral"]))
    rule = {"id": rule_id}
    if draw(st.booleans()):
        rule["description"] = draw(WORDS)
    rule["on"] = "purchase" if kind != "points" else draw(st.sampled_from(["purchase", "review", "visit"]))
    if kind == "referral":
        referral = {"referrer_points": draw(st.integers(0, 999)), "referred_points": draw(st.integers(0, 999))}
        if draw(st.booleans()):
            referral["referrer_limit"] = {"count": draw(st.integers(1, 9)), "per": draw(PERIOD)}
        if draw(st.booleans()):
            referral["block_shared_email"] = True
        rule["referral"] = referral
    elif kind == "points":
        rule["award"] = {"points": draw(st.integers(0, 5000))}
    else:
        rate = draw(st.sampled_from([1, 2, 3, 1.5, 0.25]))
        rule["award"] = {"points_per_dollar": rate}
        if kind == "items":
            by = draw(st.sampled_from(["category", "sku"]))
            values = draw(st.lists(IDS, min_size=1, max_size=3, unique=True))
            rule["award"].update({"of": "items", "where": {by: values[0] if len(values) == 1 else values}})
    if kind != "referral" and draw(st.booleans()):
        rule["multiply_by_tier"] = True
    if draw(st.booleans()):
        rule["conditions"] = {"amount": {draw(st.sampled_from(["at_least", "more_than", "at_most"])):
                                         draw(st.integers(0, 99999))}}
        if draw(st.booleans()):
            rule["conditions"]["store_id"] = {"in": draw(st.lists(IDS, min_size=1, max_size=3, unique=True))}
    if draw(st.booleans()):
        start = draw(st.dates(date(2026, 1, 1), date(2027, 12, 31)))
        rule["window"] = {"from": start, "to": draw(st.dates(start, date(2028, 12, 31)))}
        if draw(st.booleans()):
            rule["window"]["days_of_week"] = draw(DAYS)
    if draw(st.booleans()):
        rule["limit"] = {"count": draw(st.integers(1, 9)), "per": draw(PERIOD)}
    if draw(st.booleans()):
        rule["pending_days"] = draw(st.integers(1, 60))
    if draw(st.booleans()):
        count = draw(st.integers(1, 36))
        unit = draw(st.sampled_from(["days", "months", "years"]))
        rule["expires"] = {"after": f"{count} {unit[:-1] if count == 1 else unit}"}
    return rule


def yaml_of(rule: dict) -> str:
    """A rule as a person writes it: block keys, flow values, a comment above it."""
    def flow(value) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(flow(v) for v in value) + "]"
        return "true" if value is True else str(value)

    lines = [f"  # about {rule['id']}", f"  - id: {rule['id']}"]
    for key, value in list(rule.items())[1:]:
        if key == "referral":
            lines.append("    referral:")
            lines.extend(f"      {k}: {flow(v)}" for k, v in value.items())
        else:
            lines.append(f"    {key}: {flow(value)}")
    return "\n".join(lines) + "\n"


PROGRAM_HEAD = """program: {name: Generated, currency: USD, timezone: America/New_York}

rules:
"""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(IDS, min_size=1, max_size=4, unique=True).flatmap(
    lambda ids: st.tuples(*[rules(rule_id) for rule_id in ids])), st.data())
def test_generated_programs_round_trip_through_the_forms(generated, data):
    text = PROGRAM_HEAD + "\n".join(yaml_of(rule) for rule in generated) + "\n# the end\n"
    load_program(text)  # a valid program to start from
    for rule in generated:
        fields = program_forms.fields("rule", rule)
        assert program_forms.data("rule", fields) == rule
        assert apply_form(text, "rules", rule["id"], fields) == text

    changed = data.draw(st.sampled_from(generated))
    fields = program_forms.fields("rule", changed)
    fields.update(limit_count="7", limit_per="week")
    edited = apply_form(text, "rules", changed["id"], fields)
    program = load_program(edited)
    assert (program.rule(changed["id"]).limit.count, program.rule(changed["id"]).limit.per) == (7, "week")
    assert all(f"  # about {rule['id']}" in edited for rule in generated)
    assert edited.endswith("\n# the end\n")
    others = [rule for rule in generated if rule is not changed]
    for rule in others:
        assert program_forms.data("rule", dict(outline(edited)["rules"])[rule["id"]]) == rule


def test_transfers_are_turned_on_by_their_form_and_said_in_words():
    from loyalty.engine.program_changes import program_changes

    assert apply_form(DEMO, "transfers", "", outline(DEMO)["transfers"]) == DEMO  # off, as its absence says
    edited = apply_form(DEMO, "transfers", "", {"enabled": "1", "min_points": "50", "max_points_per_month": ""})
    assert edited.endswith("    stock: 100\n\ntransfers:\n  enabled: true\n  min_points: 50\n")
    assert program_changes(load_program(DEMO), load_program(edited)) == [
        "Transfers between members: off → on, from 50 points"]


def test_a_stamp_card_is_built_and_changed_by_its_form():
    coffee = dict(outline(DEMO)["cards"])["coffee-card"]
    assert (coffee["item_values"], coffee["per"], coffee["stamps"], coffee["completes"], coffee["reward"]) == (
        "coffee", "day", "9", "reward", "free-drink")
    edited = apply_form(DEMO, "cards", "coffee-card", {**coffee, "stamps": "8"})
    assert changed_lines(DEMO, edited) == ["-    stamps: 9", "+    stamps: 8"]
    blank = program_forms.fields("card", {})
    tea = apply_form(DEMO, "cards", "", {**blank, "id": "tea-card", "name": "Tea card", "item_by": "category",
                                         "item_values": "tea", "per": "day", "stamps": "6",
                                         "completes": "points", "points": "100"})
    assert ("    reward: free-drink\n\n  - id: tea-card\n    name: Tea card\n    stamp:\n"
            "      where: {category: tea}\n      per: day\n    stamps: 6\n    points: 100\n\n# Earning rules.") in tea
    card = load_program(tea).card("tea-card")
    assert (card.stamps, card.points, card.categories) == (6, 100, frozenset({"tea"}))


def test_a_stamp_cards_stamps_lapse_all_after_days_without_one_or_each_after_its_own_days():
    cards = dict(outline(EVERY)["cards"])
    assert [(cards[key]["expires"], cards[key]["expires_days"]) for key in ("pastry-card", "tea-card")] == [
        ("inactive_days", "90"), ("after_days", "60")]
    edited = apply_form(EVERY, "cards", "pastry-card", {**cards["pastry-card"], "expires": "after_days"})
    assert changed_lines(EVERY, edited) == ["-    expires: {inactive_days: 90}", "+    expires: {after_days: 90}"]
    assert load_program(edited).card("pastry-card").after_days == 90
    never = apply_form(EVERY, "cards", "tea-card", {**cards["tea-card"], "expires": ""})
    assert changed_lines(EVERY, never) == ["-    expires: {after_days: 60}   # each stamp, sixty days after it"]
    with pytest.raises(FormInvalid) as invalid:
        apply_form(EVERY, "cards", "tea-card", {**cards["tea-card"], "expires_days": ""})
    assert invalid.value.details["fields"] == {"expires_days": ["required"]}
