"""Badges, challenges, streaks and a tier's badge through the program builder's forms: built, changed and
removed in the YAML text, comments kept, said in words, and what is wrong said beside the field it concerns."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.engine import load_program
from loyalty.engine.program_changes import program_changes
from loyalty.engine.progress_changes import badge_words, card_words, challenge_words, streak_words
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


def test_cards_challenges_and_badges_are_said_in_words_in_the_list_and_in_the_changes():
    program = load_program(EVERY)
    assert [challenge_words(challenge, program) for challenge in program.challenges] == [
        "3 distinct categories in a calendar month → Explorer badge",
        "€50.00 spent on coffee or tea within 30 days → 200 points, again every 30 days at most",
        "review 3 times in a calendar year → Critic badge"]
    assert [card_words(card, program) for card in program.cards] == [
        "6 stamps for croissant or ensaimada of at least €3.00, one a visit → 120 points, stamps lapse after 90 days "
        "without one", "5 stamps for tea, one a day → A coffee, each stamp lapses 60 days after it is given"]
    assert [badge_words(badge, program) for badge in program.badges] == [
        "from Three kinds a month, Every month, reaching Max", "from Three reviews a year, Daily critic"]
    big = dict(outline(EVERY)["challenges"])["big-spender"]
    edited = apply_form(EVERY, "challenges", "big-spender", {**big, "goal_amount": "7500", "repeat": ""})
    assert program_changes(program, load_program(edited)) == [
        "Challenge Big spender: €50.00 spent on coffee or tea within 30 days → 200 points, again every 30 days "
        "at most → €75.00 spent on coffee or tea within 30 days → 200 points"]
    gone = remove_item(EVERY, "challenges", "critic-of-the-year")
    assert program_changes(program, load_program(gone)) == [
        "Challenge Three reviews a year removed (review 3 times in a calendar year → Critic badge)"]


WEEKLY = {"id": "weekly-regular", "name": "Weekly regular",
          "description": "A purchase every week, three weeks in a row", "item_by": "category",
          "item_values": "coffee", "period": "week", "length": "3", "grace": "1",
          "award": "points", "points": "50", "repeat": "1"}


def test_a_streak_is_built_changed_and_removed_by_its_form():
    built = apply_form(DEMO, "streaks", "", {**program_forms.fields("streak", {}), **WEEKLY})
    assert changed_lines(DEMO, built) == [
        "+", "+streaks:", "+  - id: weekly-regular", "+    name: Weekly regular",
        "+    description: A purchase every week, three weeks in a row", "+    where: {category: coffee}",
        "+    period: week", "+    length: 3", "+    grace: 1", "+    award: {points: 50}", "+    repeat: true"]
    streak = load_program(built).streak("weekly-regular")
    assert (streak.on, streak.categories, streak.period, streak.length, streak.grace, streak.points,
            streak.repeat, streak.min_amount) == ("purchase", frozenset({"coffee"}), "week", 3, 1, 50, True, 1)
    assert remove_item(built, "streaks", "weekly-regular") == DEMO

    weekly = dict(outline(EVERY)["streaks"])["weekly-regular"]
    assert (weekly["min_amount"], weekly["grace"], weekly["item_values"], weekly["repeat"]) == ("250", "1", "coffee",
                                                                                               True)
    edited = apply_form(EVERY, "streaks", "weekly-regular", {**weekly, "grace": "2", "length": "4"})
    assert changed_lines(EVERY, edited) == ["-    length: 3", "-    grace: 1                  # one week off",
                                            "+    length: 4", "+    grace: 2                  # one week off"]
    critic = dict(outline(EVERY)["streaks"])["daily-critic"]
    badge = apply_form(EVERY, "streaks", "daily-critic", {**critic, "badge": "explorer"})
    assert changed_lines(EVERY, badge) == [
        "-  - {id: daily-critic, name: Daily critic, on: review, period: day, length: 7, award: {badge: critic}}",
        "+  - {id: daily-critic, name: Daily critic, on: review, period: day, length: 7, award: {badge: explorer}}"]


def test_what_a_streak_form_cannot_take_is_said_beside_its_field():
    blank = program_forms.fields("streak", {})
    with pytest.raises(FormInvalid) as invalid:
        apply_form(DEMO, "streaks", "", {**blank, **WEEKLY, "length": "1", "period": "fortnight", "grace": "-1"})
    assert invalid.value.details["fields"] == {"period": ["one of day, week, calendar_month"],
                                               "length": ["must be 2 or more"], "grace": ["must be 0 or more"]}
    with pytest.raises(RulesRejected) as rejected:
        apply_form(DEMO, "streaks", "", {**blank, **WEEKLY, "on": "review"})
    beside, rest = errors_beside_fields(DEMO, "streaks", "", rejected.value.details["errors"])
    assert (beside, rest) == ({"item_values": ["'where' is for purchases; this streak is on 'review'"]}, [])


def test_streaks_are_said_in_words_in_the_list_and_in_the_changes():
    program = load_program(EVERY)
    assert [streak_words(streak, program) for streak in program.streaks] == [
        "a purchase with coffee of at least €2.50 every week, 3 weeks in a row (a gap of up to 1 week allowed) "
        "→ 50 points, again for every 3 weeks more",
        "review every day, 7 days in a row → Critic badge",
        "a purchase every month, 6 months in a row → Explorer badge"]
    monthly = dict(outline(EVERY)["streaks"])["monthly"]
    edited = apply_form(EVERY, "streaks", "monthly", {**monthly, "length": "12", "award": "points", "points": "500"})
    assert program_changes(program, load_program(edited)) == [
        "Streak Every month: a purchase every month, 6 months in a row → Explorer badge → "
        "a purchase every month, 12 months in a row → 500 points"]
    added = apply_form(DEMO, "streaks", "", {**program_forms.fields("streak", {}), **WEEKLY})
    assert program_changes(load_program(DEMO), load_program(added)) == [
        "New streak Weekly regular: a purchase with coffee every week, 3 weeks in a row (a gap of up to 1 week "
        "allowed) → 50 points, again for every 3 weeks more"]


def test_a_tier_gives_a_badge_through_its_form_and_the_change_says_so():
    tiers = dict(outline(EVERY)["tiers"])
    assert (tiers["max"]["badge"], tiers["plus"]["badge"]) == ("explorer", "")
    edited = apply_form(EVERY, "tiers", "plus", {**tiers["plus"], "badge": "critic"})
    assert changed_lines(EVERY, edited) == [
        "-    - {id: plus, name: Plus, qualifying_points: 300, multiplier: 1.1}   # ten per cent more",
        "+    - {id: plus, name: Plus, qualifying_points: 300, multiplier: 1.1, badge: critic} # ten per cent more"]
    assert load_program(edited).tiers[1].badge_id == "critic"
    edited = apply_form(edited, "tiers", "max", {**tiers["max"], "badge": ""})
    assert program_changes(load_program(EVERY), load_program(edited)) == [
        "Tier Plus: reaching it gives the Critic badge", "Tier Max: no longer gives the Explorer badge"]
    assert badge_words(load_program(edited).badge("critic"), load_program(edited)) == (
        "from Three reviews a year, Daily critic, reaching Plus")

    with pytest.raises(RulesRejected) as rejected:  # every member starts in the first tier
        apply_form(EVERY, "tiers", "base", {**tiers["base"], "badge": "critic"})
    beside, rest = errors_beside_fields(EVERY, "tiers", "base", rejected.value.details["errors"])
    assert rest == [] and list(beside) == ["badge"]
    assert beside["badge"][0].startswith("every member starts in the first tier")


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


@st.composite
def streaks(draw, streak_id: str, badge_ids: list[str]) -> dict:
    on = draw(st.sampled_from(["purchase", "review", None]))
    streak = {"id": streak_id, "name": draw(WORDS)}
    if draw(st.booleans()):
        streak["description"] = draw(WORDS)
    if on:
        streak["on"] = on
    if on != "review" and draw(st.booleans()):
        values = draw(st.lists(IDS, min_size=1, max_size=3, unique=True))
        streak["where"] = {draw(st.sampled_from(["category", "sku"])): values[0] if len(values) == 1 else values}
    if on != "review" and draw(st.booleans()):
        streak["min_amount"] = draw(st.integers(1, 99999))
    streak["period"] = draw(st.sampled_from(["day", "week", "calendar_month"]))
    streak["length"] = draw(st.integers(2, 52))
    if draw(st.booleans()):
        streak["grace"] = draw(st.integers(0, 3))
    streak["award"] = {"badge": draw(st.sampled_from(badge_ids))} if badge_ids and draw(st.booleans()) \
        else {"points": draw(st.integers(1, 5000))}
    if draw(st.booleans()):
        streak["repeat"] = True
    return streak


PROGRAM = "program: {name: Generated, currency: USD, timezone: America/New_York}\n\n"


def section(name: str, items) -> str:
    return f"{name}:\n" + "\n".join(yaml_of(item) for item in items) + "\n" if items else ""


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(IDS, min_size=1, max_size=6, unique=True).flatmap(
    lambda ids: st.tuples(st.just(ids[:len(ids) // 2]),
                          st.tuples(*[challenges("c-" + i, ids[:len(ids) // 2]) for i in ids]),
                          st.tuples(*[streaks("s-" + i, ids[:len(ids) // 2]) for i in ids[:3]]))), st.data())
def test_generated_badges_challenges_and_streaks_round_trip_through_their_forms(generated, data):
    badge_ids, made, runs = generated
    badges = [{"id": badge_id, "name": badge_id.title()} for badge_id in badge_ids]
    text = PROGRAM + section("badges", badges) + section("challenges", made) + section("streaks", runs) + "# the end\n"
    load_program(text)  # a valid program to start from
    for name, kind, items in (("badges", "badge", badges), ("challenges", "challenge", made),
                              ("streaks", "streak", runs)):
        for item in items:
            fields = program_forms.fields(kind, item)
            assert program_forms.data(kind, fields) == item
            assert apply_form(text, name, item["id"], fields) == text

    changed = data.draw(st.sampled_from(made))
    fields = {**program_forms.fields("challenge", changed), "within": "days", "within_days": "12"}
    edited = apply_form(text, "challenges", changed["id"], fields)
    run = data.draw(st.sampled_from(runs))
    edited = apply_form(edited, "streaks", run["id"], {**program_forms.fields("streak", run), "grace": "5"})
    program = load_program(edited)
    assert (program.challenge(changed["id"]).days, program.streak(run["id"]).grace) == (12, 5)
    assert all(f"  # about {item['id']}" in edited for item in [*made, *badges, *runs])
    assert edited.endswith("\n# the end\n")
    forms_now = outline(edited)
    for kind, items, touched in (("challenge", made, changed), ("streak", runs, run)):
        for other in items:
            if other is not touched:
                assert program_forms.data(kind, dict(forms_now[kind + "s"])[other["id"]]) == other
