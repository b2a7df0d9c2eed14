"""Explanations read in exactly the words the engine has always given.

fixtures/reason_words.json records events, the programs they ran against and
the words each rule gave them, as the engine wrote them when it still built
its sentences while evaluating (fixtures/reason_words.py wrote it). Replaying
those events must give the same words, byte for byte, and so must the facts
each line stores (a reason code and JSON arguments) when read back.
"""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.engine import (
    EventFacts,
    Item,
    MemberFacts,
    ReferrerFacts,
    evaluate,
    explanation,
    explanation_words,
    load_program,
    reasons,
    stored_explanation,
)

GOLDEN = json.loads((Path(__file__).resolve().parent / "fixtures" / "reason_words.json").read_text("utf-8"))
PROGRAMS = {name: load_program(text) for name, text in GOLDEN["programs"].items()}


def event_of(data: dict) -> EventFacts:
    return EventFacts(
        data["type"], datetime.fromisoformat(data["occurred_at"]), amount=data.get("amount"),
        currency=data.get("currency"), store_id=data.get("store_id"), channel=data.get("channel"),
        items=tuple(Item(*item) for item in data.get("items", ())), attributes=data.get("attributes", {}),
    )


def usage_of(rows: list) -> dict:
    return {(counter, period): used for counter, period, used in rows}


def member_of(data: dict) -> MemberFacts:
    referrer = data.get("referrer")
    if referrer is not None:
        referrer = ReferrerFacts(referrer["member_id"], referrer["email"], referrer["status"],
                                 usage_of(referrer["usage"]))
    return MemberFacts(data["member_id"], data["tier_id"], email=data.get("email"),
                       referred=data.get("referred", False), referrer=referrer, usage=usage_of(data["usage"]))


def explanation_of(case: dict):
    return evaluate(PROGRAMS[case["program"]], event_of(case["event"]), member_of(case["member"])).explanation


def assert_stored_reads_back(lines, event: EventFacts) -> dict:
    """The explanation as stored is plain JSON that survives a round trip and reads back in its words;
    so does every line as 0017 stored it, with all its arguments."""
    stored = stored_explanation(lines, event)
    assert plain_json(stored)
    assert json.loads(json.dumps(stored)) == stored
    assert list(stored) == [line.rule_id for line in lines]
    assert all(fact["code"] in reasons.CODES for fact in stored.values())
    assert explanation_words(stored, event) == [line.as_dict() for line in lines]
    every_argument = [{"rule_id": line.rule_id, "matched": line.matched, "points": line.points,
                       "code": line.code, "args": line.args} for line in lines]
    assert explanation_words(every_argument, None) == [line.as_dict() for line in lines]
    return stored


def plain_json(value) -> bool:
    """str, int, bool, None, and lists and dicts of those: no floats, no tuples."""
    if isinstance(value, list):
        return all(map(plain_json, value))
    if isinstance(value, dict):
        return all(isinstance(key, str) and plain_json(v) for key, v in value.items())
    return value is None or type(value) in (str, int, bool)


def cases_of(program: str) -> list[dict]:
    return [case for case in GOLDEN["cases"] if case["program"] == program]


def test_the_recorded_events_cover_every_program_and_many_ways_of_reading():
    assert {case["program"] for case in GOLDEN["cases"]} == set(PROGRAMS)
    assert sum(len(case["lines"]) for case in GOLDEN["cases"]) > 2000


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_every_rule_explains_each_recorded_event_in_the_recorded_words(program):
    differing = [
        (case["event"], case["member"], said, case["lines"])
        for case in cases_of(program)
        if (said := [line.as_dict() for line in explanation_of(case)]) != case["lines"]
    ]
    assert differing == []


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_every_line_stored_as_facts_reads_back_in_the_same_words(program):
    for case in cases_of(program):
        assert_stored_reads_back(explanation_of(case), event_of(case["event"]))


def test_the_recorded_events_give_every_reason_code():
    given = {line.code for case in GOLDEN["cases"] for line in explanation_of(case)}
    assert given == reasons.CODES


def test_a_capped_purchase_is_stored_as_its_rate_and_the_cap_that_trimmed_it():
    demo = PROGRAMS["demo"]
    purchase = EventFacts("purchase", datetime(2026, 11, 23, 17, tzinfo=UTC), amount=4500, currency="USD")
    silver = MemberFacts("mem_1", "silver", usage={("cap:purchase-daily", "2026-11-23"): 1980})
    lines = evaluate(demo, purchase, silver).explanation
    assert stored_explanation(lines, purchase)["spend"] == {
        "matched": True, "points": 20, "code": "cap_reached",
        "args": {
            "award": "rate", "rate": "1", "of": "amount", "amount": 4500,
            "multiplier": "1.25", "tier": "Silver", "points": 56,
            "caps": [{"cap": "purchase-daily", "max_points": 2000, "per": "day", "used": 1980, "awarded": 20,
                      "of": 56}],
        },
    }


def test_a_line_stores_no_argument_twice_and_none_not_at_all():
    demo = PROGRAMS["demo"]
    purchase = EventFacts("purchase", datetime(2026, 11, 23, 17, tzinfo=UTC), amount=1250, currency="USD")
    lines = evaluate(demo, purchase, MemberFacts("mem_1", None)).explanation
    spend, window = lines[0], lines[2]
    assert spend.args["points"] == spend.points == 12 and spend.args["categories"] is None
    assert spend.args["currency"] == purchase.currency == "USD"
    assert window.args["event_type"] == "purchase" and window.args["day"] == "2026-11-23"
    assert assert_stored_reads_back(lines, purchase) == {
        "spend": {"matched": True, "points": 12, "code": "rate",
                  "args": {"rate": "1", "of": "amount", "amount": 1250}},
        "coffee-bonus": {"matched": False, "points": 0, "code": "no_matching_items",
                         "args": {"categories": ["coffee"]}},
        "holiday-double": {"matched": False, "points": 0, "code": "outside_window",
                           "args": {"start": "2026-12-20", "end": "2026-12-26", "timezone": "America/New_York"}},
        "referral": {"matched": False, "points": 0, "code": "not_referred"},
    }


def test_an_argument_that_differs_from_the_event_is_stored():
    demo = PROGRAMS["demo"]
    purchase = EventFacts("purchase", datetime(2026, 11, 23, 17, tzinfo=UTC), amount=1250, currency="CAD")
    lines = evaluate(demo, purchase, MemberFacts("mem_1", None)).explanation
    stored = assert_stored_reads_back(lines, purchase)
    assert stored["spend"]["args"]["currency"] == "USD"


def test_words_are_put_together_only_when_read(monkeypatch):
    def no_words(code, args):
        raise AssertionError("rendered while evaluating")

    monkeypatch.setattr(explanation, "words", no_words)
    for case in cases_of("demo"):
        explanation_of(case)
    with pytest.raises(AssertionError):
        explanation_of(cases_of("demo")[0])[0].as_dict()


def test_a_line_stored_in_words_before_reason_codes_keeps_its_words():
    stored = [{"rule_id": "spend", "matched": True, "points": 12, "reason": "1 point per $1 on $12.50 = 12 points"}]
    assert explanation_words(stored, None) == stored


@pytest.mark.parametrize(
    ("code", "args"),
    [("double_stamps", {"stamps": 2, "card": "coffee-card"}), ("rate", {"rate": "1"}),
     ("referral", {"referred_points": 0, "referrer_outcome": "postponed"}), ("fixed", None)],
)
def test_a_code_or_arguments_this_engine_does_not_know_read_as_they_are(code, args):
    line = {"matched": True, "points": 3, "code": code, "args": args}
    [read] = explanation_words({"later": {key: line[key] for key in ("matched", "points", "code", "args")}}, None)
    assert {key: read[key] for key in ("rule_id", "matched", "points")} == {
        "rule_id": "later", "matched": True, "points": 3}
    assert read["reason"].startswith(code)
    assert all(str(value) in read["reason"] for value in (args or {}).values())


minutes = st.integers(0, 4 * 24 * 60 - 1)  # within four New York days, two before the holidays
START = datetime(2026, 12, 18, 5, 0, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)
members = st.builds(
    MemberFacts, st.just("mem_1"), st.sampled_from(["member", "silver", "gold", "base", "plus", "top"]),
    email=st.sampled_from([None, "ana@example.com"]), referred=st.booleans(),
    referrer=st.none() | st.builds(ReferrerFacts, st.just("mem_ref"), st.sampled_from([None, "ana@example.com"]),
                                   st.sampled_from(["active", "suspended"])),
)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([("demo", "purchase"), ("demo", "review"), ("coverage-USD", "purchase"), ("coverage-USD", "visit"),
                     ("coverage-USD", "survey"), ("coverage-JPY", "purchase"), ("referrals", "purchase"),
                     ("referrals", "first_visit"), ("conditions", "purchase"), ("conditions", "review")]),
    minutes, st.integers(-1000, 300_000), st.integers(0, 100), members,
    st.dictionaries(st.sampled_from(["score", "kind", "verified", "lang", "code", "rating"]),
                    st.floats() | json_values),
    st.sampled_from([0, 1, 3, 299, 399, 1990, 5000]),
)
def test_any_event_is_stored_as_json_facts_that_read_back_in_its_words(
    listened, minute, amount, coffee_percent, member, attributes, used
):
    program, kind = listened
    coffee = amount * coffee_percent // 100
    items = (Item("latte", "coffee", 1, coffee), Item("mug", None, 1, amount - coffee))
    event = EventFacts(kind, START + timedelta(minutes=minute), amount=amount, items=items, attributes=attributes)
    usage = dict.fromkeys(PROGRAMS[program].usage_keys(kind, event.occurred_at).member, used)
    member = replace(member, usage=usage)
    assert_stored_reads_back(evaluate(PROGRAMS[program], event, member).explanation, event)
