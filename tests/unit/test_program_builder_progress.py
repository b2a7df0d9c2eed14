"""Badges and challenges through the program builder's forms: built, changed and removed in the YAML text,
comments kept, said in words, and what is wrong said beside the field it concerns."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.engine import load_program
from loyalty.engine.program_changes import program_changes
from loyalty.engine.progress_changes import badge_words, challenge_words
from loyalty.errors import RulesRejected
from loyalty.services.program_builder import FormInvalid, apply_form, errors_beside_fields, outline, remove_item
from loyalty.services.program_builder import forms as program_forms
from tests.unit.test_program_builder import DEMO, EVERY, IDS, WORDS, changed_lines, yaml_of

EXPLORER = {"id": "explorer", "name": "Explorer", "image": "https://example.com/badges/explorer.png",
            "description": ""}
THREE_KINDS = {"id": "three-kinds", "name": "Three kinds a month", "goal": "distinct_categories",
               "goal_categories": "3", "within": "calendar_month", "award": "badge", "badge": "explorer"}


def with_explorer(text: str = DEMO) -> str:
    return apply_form(text, "badges", "", {**program_forms.fields("badge", {}), **EXPLORER})


def test_a_badge_and_a_challenge_are_built_by_their_forms_after_the_last_section():
    badged = with_explorer()
    assert changed_lines(DEMO, badged) == ["+", "+badges:", "+  - id: explorer", "+    name: Explorer",
                                           "+    image: https://example.com/badges/explorer.png"]
    built = apply_form(badged, "challenges", "", {**program_forms.fields("challenge", {}), **THREE_KINDS})
    assert built.endswith("    image: https://example.com/badges/explorer.png\n\nchallenges:\n"
                          "  - id: three-kinds\n    name: Three kinds a month\n    goal: {distinct_categories: 3}\n"
                          "    within: calendar_month\n    award: {badge: explorer}\n")
    challenge = load_program(built).challenge("three-kinds")
    assert (challenge.goal, challenge.target, challenge.per, challenge.badge_id, challenge.on) == (
        "distinct_categories", 3, "calendar_month", "explorer", "purchase")

    second = apply_form(built, "challenges", "", {
        **program_forms.fields("challenge", {}), "id": "regular", "name": "Three visits a week", "goal": "count",
        "goal_count": "3", "within": "days", "within_days": "7", "item_values": "coffee, tea", "award": "points",
        "points": "30", "repeat": "1"})
    assert second.endswith("    award: {badge: explorer}\n\n  - id: regular\n    name: Three visits a week\n"
                           "    goal: {count: 3}\n    within: {days: 7}\n    where: {category: [coffee, tea]}\n"
                           "    award: {points: 30}\n    repeat: true\n")
    regular = load_program(second).challenge("regular")
    assert (regular.days, regular.per, regular.categories, regular.points, regular.repeat) == (
        7, None, frozenset({"coffee", "tea"}), 30, True)


def test_the_forms_show_what_the_yaml_says_and_a_change_rewrites_its_value_only():
    challenges = dict(outline(EVERY)["challenges"])
    big = challenges["big-spender"]
    assert (big["goal"], big["goal_amount"], big["within"], big["within_days"], big["item_values"],
            big["award"], big["points"], big["repeat"], big["on"]) == (
        "amount", "5000", "days", "30", "coffee, tea", "points", "200", True, "purchase")
    assert (challenges["three-kinds"]["on"], challenges["three-kinds"]["badge"]) == ("", "explorer")
    assert dict(outline(EVERY)["badges"])["critic"] == {"id": "critic", "name": "Critic", "image": "",
                                                        "description": ""}
    edited = apply_form(EVERY, "challenges", "big-spender", {**big, "goal_amount": "7500", "within": "week"})
    assert changed_lines(EVERY, edited) == [
        "-    goal: {amount: 5000}        # minor units: €50.00", "-    within: {days: 30}",
        "+    goal: {amount: 7500}        # minor units: €50.00", "+    within: week"]
    explorer = dict(outline(EVERY)["badges"])["explorer"]
    renamed = apply_form(EVERY, "badges", "explorer", {**explorer, "name": "Explorer of flavours"})
    assert changed_lines(EVERY, renamed) == ["-    name: Explorer", "+    name: Explorer of flavours"]


def test_the_last_challenge_removed_takes_its_section_and_a_badge_in_use_stays():
    built = apply_form(with_explorer(), "challenges", "", {**program_forms.fields("challenge", {}), **THREE_KINDS})
    assert remove_item(built, "challenges", "three-kinds") == with_explorer()
    assert remove_item(with_explorer(), "badges", "explorer") == DEMO
    with pytest.raises(RulesRejected) as rejected:
        remove_item(built, "badges", "explorer")
    assert rejected.value.details["errors"][0]["message"].startswith("unknown badge 'explorer'")


def test_what_a_challenge_form_cannot_take_is_said_beside_its_field():
    blank = program_forms.fields("challenge", {})
    with pytest.raises(FormInvalid) as invalid:
        apply_form(DEMO, "challenges", "", {**blank, **THREE_KINDS, "goal_categories": "", "within": "days",
                                            "award": "points", "points": "0"})
    assert invalid.value.details["fields"] == {"goal_categories": ["required"], "within_days": ["required"],
                                               "points": ["must be 1 or more"]}
    taken = {**blank, **THREE_KINDS, "id": "spend", "badge": "explorer"}
    with pytest.raises(RulesRejected) as rejected:  # only the whole program knows the rules' ids
        apply_form(with_explorer(), "challenges", "", taken)
    errors = rejected.value.details["errors"]
    assert errors_beside_fields(with_explorer(), "challenges", "", errors) == (
        {"id": ["id 'spend' is already used"]}, [])
    with pytest.raises(RulesRejected) as unknown:
        apply_form(EVERY, "challenges", "three-kinds", {**dict(outline(EVERY)["challenges"])["three-kinds"],
                                                        "badge": "explorr"})
    beside, rest = errors_beside_fields(EVERY, "challenges", "three-kinds", unknown.value.details["errors"])
    assert rest == [] and beside["badge"][0].startswith("unknown badge 'explorr'")


def test_challenges_and_badges_are_said_in_words_in_the_list_and_in_the_changes():
    program = load_program(EVERY)
    assert [challenge_words(challenge, program) for challenge in program.challenges] == [
        "3 distinct categories in a calendar month → Explorer badge",
        "€50.00 spent on coffee or tea within 30 days → 200 points, again every 30 days at most",
        "review 3 times in a calendar year → Critic badge"]
    assert [badge_words(badge, program) for badge in program.badges] == [
        "from Three kinds a month", "from Three reviews a year"]
    big = dict(outline(EVERY)["challenges"])["big-spender"]
    edited = apply_form(EVERY, "challenges", "big-spender", {**big, "goal_amount": "7500", "repeat": ""})
    assert program_changes(program, load_program(edited)) == [
        "Challenge Big spender: €50.00 spent on coffee or tea within 30 days → 200 points, again every 30 days "
        "at most → €75.00 spent on coffee or tea within 30 days → 200 points"]
    gone = remove_item(EVERY, "challenges", "critic-of-the-year")
    assert program_changes(program, load_program(gone)) == [
        "Challenge Three reviews a year removed (review 3 times in a calendar year → Critic badge)"]


# Generated programs --------------------------------------------------------------------------------------

@st.composite
def challenges(draw, challenge_id: str, badge_ids: list[str]) -> dict:
    on = draw(st.sampled_from(["purchase", "review", None]))
    goal = draw(st.sampled_from(["count"] if on == "review" else ["count", "amount", "distinct_categories"]))
    challenge = {"id": challenge_id, "name": draw(WORDS)}
    if draw(st.booleans()):
        challenge["description"] = draw(WORDS)
    if on:
        challenge["on"] = on
    challenge["goal"] = {goal: draw(st.integers(1, 99999 if goal == "amount" else 20))}
    challenge["within"] = draw(st.sampled_from(["day", "week", "calendar_month", "calendar_year"])
                               | st.builds(lambda days: {"days": days}, st.integers(1, 400)))
    if on != "review" and draw(st.booleans()):
        values = draw(st.lists(IDS, min_size=1, max_size=3, unique=True))
        challenge["where"] = {draw(st.sampled_from(["category", "sku"])): values[0] if len(values) == 1 else values}
    challenge["award"] = {"badge": draw(st.sampled_from(badge_ids))} if badge_ids and draw(st.booleans()) \
        else {"points": draw(st.integers(1, 5000))}
    if draw(st.booleans()):
        challenge["repeat"] = True
    return challenge


PROGRAM = "program: {name: Generated, currency: USD, timezone: America/New_York}\n\n"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(IDS, min_size=1, max_size=6, unique=True).flatmap(
    lambda ids: st.tuples(st.just(ids[:len(ids) // 2]),
                          st.tuples(*[challenges("c-" + i, ids[:len(ids) // 2]) for i in ids]))), st.data())
def test_generated_badges_and_challenges_round_trip_through_their_forms(generated, data):
    badge_ids, made = generated
    badges = [{"id": badge_id, "name": badge_id.title()} for badge_id in badge_ids]
    text = PROGRAM + ("badges:\n" + "\n".join(yaml_of(badge) for badge in badges) + "\n" if badges else "") + \
        "challenges:\n" + "\n".join(yaml_of(challenge) for challenge in made) + "\n# the end\n"
    load_program(text)  # a valid program to start from
    for section, kind, items in (("badges", "badge", badges), ("challenges", "challenge", made)):
        for item in items:
            fields = program_forms.fields(kind, item)
            assert program_forms.data(kind, fields) == item
            assert apply_form(text, section, item["id"], fields) == text

    changed = data.draw(st.sampled_from(made))
    fields = {**program_forms.fields("challenge", changed), "within": "days", "within_days": "12"}
    edited = apply_form(text, "challenges", changed["id"], fields)
    assert load_program(edited).challenge(changed["id"]).days == 12
    assert all(f"  # about {item['id']}" in edited for item in [*made, *badges])
    assert edited.endswith("\n# the end\n")
    for other in made:
        if other is not changed:
            assert program_forms.data("challenge", dict(outline(edited)["challenges"])[other["id"]]) == other
