"""Explanations read in exactly the words the engine has always given.

fixtures/reason_words.json records events, the programs they ran against and
the words each rule gave them, as the engine wrote them when it still built
its sentences while evaluating (fixtures/reason_words.py wrote it). Replaying
those events must give the same words, byte for byte.
"""

import json
from datetime import datetime
from pathlib import Path

import pytest

from loyalty.engine import EventFacts, Item, MemberFacts, ReferrerFacts, evaluate, load_program

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
