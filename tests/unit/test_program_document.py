"""A form's edit rewrites the program's YAML in place: the values it sets change, nothing else does."""

import difflib
from pathlib import Path

import pytest

from loyalty.engine import load_program
from loyalty.errors import RulesRejected, ValidationFailed
from loyalty.services.program_document import edit_rule

DEMO = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_no_change_writes_the_text_back_byte_for_byte():
    assert edit_rule(DEMO, "review") == DEMO


def test_points_and_a_limit_change_only_their_line_and_comments_stay():
    edited = edit_rule(DEMO, "review", points=30, limit_count=5, limit_per="calendar_month")
    assert changed_lines(DEMO, edited) == [
        "-    award: {points: 25}", "-    limit: {count: 3, per: calendar_month}",
        "+    award: {points: 30}", "+    limit: {count: 5, per: calendar_month}"]
    assert load_program(edited).rule("review").award.points == 30


def test_a_rate_keeps_the_rest_of_its_award():
    edited = edit_rule(DEMO, "coffee-bonus", points_per_dollar="1.5")
    assert changed_lines(DEMO, edited) == [
        "-    award: {points_per_dollar: 1, of: items, where: {category: coffee}}",
        "+    award: {points_per_dollar: 1.5, of: items, where: {category: coffee}}"]


def test_a_limit_is_added_in_place_and_removed_with_zero():
    added = edit_rule(DEMO, "spend", limit_count=2, limit_per="day")
    assert changed_lines(DEMO, added) == ["+    limit: {count: 2, per: day}"]
    assert "multiply_by_tier: true\n    limit: {count: 2, per: day}\n\n  - id: coffee-bonus" in added
    removed = edit_rule(DEMO, "review", limit_count=0)
    assert changed_lines(DEMO, removed) == ["-    limit: {count: 3, per: calendar_month}"]


@pytest.mark.parametrize(("rule_id", "fields", "error"), [
    ("nope", {"points": 1}, ValidationFailed),
    ("spend", {"points": 5}, ValidationFailed),          # a rate rule has no fixed points
    ("review", {"points_per_dollar": "2"}, ValidationFailed),
    ("review", {"points": -1}, ValidationFailed),
    ("review", {"limit_count": 2, "limit_per": "fortnight"}, ValidationFailed),
    ("coffee-bonus", {"points_per_dollar": "lots"}, ValidationFailed),
])
def test_what_a_form_cannot_do_says_why(rule_id, fields, error):
    with pytest.raises(error):
        edit_rule(DEMO, rule_id, **fields)


def test_broken_yaml_is_refused():
    with pytest.raises(RulesRejected):
        edit_rule("rules: [", "review", points=3)
