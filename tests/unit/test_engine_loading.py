"""Loading the rules: the demo files, directories, and errors a marketer can act on."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from textwrap import dedent

import pytest

from loyalty.engine import (
    EventFacts,
    MemberFacts,
    RulesInvalid,
    evaluate,
    load_program,
    load_program_dir,
)

RULES = Path(__file__).resolve().parents[2] / "rules"
DEMO_TEXT = (RULES / "program.yaml").read_text()

MINI = dedent("""\
    program:
      name: Mini
      currency: USD
      timezone: America/New_York
    rules:
      - id: spend
        on: purchase
        award: {points_per_dollar: 1}
      - id: review
        on: review
        award:
          points: 25
""")


def errors_of(text, filename="program.yaml"):
    with pytest.raises(RulesInvalid) as caught:
        load_program(text, filename)
    return [e.as_dict() for e in caught.value.errors]


def test_every_file_in_rules_loads_as_the_demo_program():
    program = load_program_dir(RULES)
    assert (program.name, program.currency, program.point_value) == (
        "Bean & Leaf Rewards",
        "USD",
        1,
    )
    assert program.timezone.key == "America/New_York"
    assert [r.id for r in program.rules] == [
        "spend",
        "coffee-bonus",
        "holiday-double",
        "welcome",
        "email-signup",
        "referral",
        "birthday",
        "review",
    ]
    assert [r.id for r in program.rules if r.spend_based] == [
        "spend",
        "coffee-bonus",
        "holiday-double",
    ]
    assert all(r.pending_days == 0 for r in program.rules)
    assert program.actions == {"purchase", "enrolled", "email_signup", "birthday", "review"}
    assert (program.repeat_within_days, program.lapsed_after_days) == (90, 180)
    assert program.qualifying_window == program.tier_hold == timedelta(days=365)
    assert program.source_hash == load_program(DEMO_TEXT).source_hash


def test_tiers_ascend_with_exact_multipliers():
    program = load_program(DEMO_TEXT)
    assert [(t.id, t.qualifying_points, t.multiplier) for t in program.tiers] == [
        ("member", 0, 1),
        ("silver", 500, Fraction(5, 4)),
        ("gold", 1500, Fraction(3, 2)),
    ]
    assert program.base_tier.id == "member"
    assert program.tier("silver").name == "Silver"
    assert [program.tier_for_points(q).id for q in (0, 499, 500, 1499, 1500, 10**6)] == [
        "member",
        "member",
        "silver",
        "silver",
        "gold",
        "gold",
    ]
    assert program.next_tier("member").id == "silver"
    assert program.next_tier("gold") is None


def test_usage_keys_name_the_counters_to_read_in_new_york_periods():
    program = load_program(DEMO_TEXT)
    late_evening = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # 31 December 2026, 22:00 in New York
    keys = program.usage_keys("purchase", late_evening)
    assert keys.member == (("cap:purchase-daily", "2026-12-31"), ("rule:referral", "ever"))
    assert keys.referrer == (("referrer:referral", "2026"),)
    assert program.usage_keys("review", late_evening).member == (("rule:review", "2026-12"),)
    assert program.usage_keys("visit", late_evening).member == ()


def test_catalog_lists_what_an_editor_offers():
    catalog = load_program(DEMO_TEXT).catalog()
    assert "review" in catalog["actions"]
    assert {"equals", "in", "at_least", "less_than"} <= {op["name"] for op in catalog["operators"]}
    assert "attributes.<name>" in [f["name"] for f in catalog["fields"]]
    assert catalog["periods"] == ["member", "day", "week", "calendar_month", "calendar_year"]


def test_compiled_program_is_reused_without_parsing(monkeypatch):
    program = load_program(DEMO_TEXT)
    from loyalty.engine import document

    def no_parsing(*args, **kwargs):
        raise AssertionError("evaluate parsed YAML")

    monkeypatch.setattr(document._yaml, "compose", no_parsing)
    event = EventFacts("purchase", datetime(2026, 11, 23, 17, tzinfo=UTC), amount=1250)
    assert evaluate(program, event, MemberFacts("mem_1", "member")).awards[0].points == 12


def test_a_directory_merges_files_and_joins_their_rules(tmp_path):
    head, rules = MINI.split("rules:\n")
    (tmp_path / "10-program.yaml").write_text(head)
    (tmp_path / "20-spend.yml").write_text("rules:\n" + rules)
    (tmp_path / "30-more.yaml").write_text(
        "rules:\n  - {id: visit, on: visit, award: {points: 5}}\n"
    )
    (tmp_path / "notes.txt").write_text("not rules")
    program = load_program_dir(tmp_path)
    assert [r.id for r in program.rules] == ["spend", "review", "visit"]
    assert "visit" in program.actions


def test_a_section_may_not_repeat_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text(MINI)
    (tmp_path / "b.yaml").write_text("program:\n  name: Other\n  currency: USD\n  timezone: UTC\n")
    with pytest.raises(RulesInvalid) as caught:
        load_program_dir(tmp_path)
    [error] = caught.value.errors
    assert error.file.endswith("b.yaml")
    assert (error.line, error.path) == (2, "program")
    assert "already defined in" in error.message


def test_unknown_key_suggests_the_right_one():
    text = MINI.replace("points: 25", "point: 25")
    assert errors_of(text) == [
        {
            "file": "program.yaml",
            "line": 12,
            "column": 7,
            "path": "rules[1].award",
            "message": "unknown key 'point' — did you mean 'points'?",
        }
    ]


def test_wrong_type_points_at_the_value():
    [error] = errors_of(MINI.replace("points: 25", "points: lots"))
    assert (error["line"], error["column"], error["path"]) == (12, 15, "rules[1].award.points")
    assert error["message"] == "expected a whole number, got 'lots'"


def test_negative_points_are_rejected():
    [error] = errors_of(MINI.replace("points: 25", "points: -25"))
    assert (error["path"], error["message"]) == (
        "rules[1].award.points",
        "must not be negative (got -25)",
    )


def test_duplicate_rule_id_is_reported_where_it_repeats():
    [error] = errors_of(MINI.replace("id: review", "id: spend"))
    assert (error["line"], error["column"], error["path"]) == (9, 9, "rules[1].id")
    assert error["message"] == "rule id 'spend' is used twice"


def test_bad_timezone_suggests_the_iana_name():
    [error] = errors_of(MINI.replace("America/New_York", "America/NewYork"))
    assert (error["line"], error["column"], error["path"]) == (4, 13, "program.timezone")
    assert (
        error["message"] == "unknown timezone 'America/NewYork' — did you mean 'America/New_York'?"
    )


def test_cap_naming_an_unknown_rule():
    text = MINI + "caps:\n  - {id: daily, rules: [spend, spnd], max_points: 100, per: day}\n"
    [error] = errors_of(text)
    assert (error["line"], error["column"], error["path"]) == (14, 32, "caps[0].rules[1]")
    assert error["message"] == "unknown rule 'spnd' — did you mean 'spend'?"


def test_yaml_syntax_error_is_one_error_at_its_place():
    [error] = errors_of(
        MINI.replace("award: {points_per_dollar: 1}", "award: {points_per_dollar: 1")
    )
    assert error["path"] == ""
    assert error["message"].startswith("YAML syntax error")
    assert "line 8, column 12" in error["message"]


def test_every_error_is_reported_not_only_the_first():
    text = (
        MINI.replace("America/New_York", "Mars/Olympus")
        .replace("points: 25", "points: many")
        .replace("on: review", "on: Review Posted")
    )
    paths = [e["path"] for e in errors_of(text)]
    assert paths == ["program.timezone", "rules[1].on", "rules[1].award.points"]


def test_tiers_must_increase():
    text = DEMO_TEXT.replace("qualifying_points: 1500", "qualifying_points: 400")
    [error] = errors_of(text)
    assert error["path"] == "tiers.levels[2].qualifying_points"
    assert "gold needs more qualifying points than silver" in error["message"]


@pytest.mark.parametrize(
    ("broken", "path", "message"),
    [
        (
            "to: 2026-12-26",
            "rules[2].window.to",
            "'2026-12-32' is not a date; write it like 2026-12-20",
        ),
        (
            "amount: {at_least: 1000}",
            "rules[5].conditions",
            "unknown field 'amout' — did you mean 'amount'?",
        ),
        (
            "per: calendar_month}",
            "rules[7].limit.per",
            "unknown value 'calendar_mnth' — did you mean 'calendar_month'?",
        ),
        ("after: 12 months", "expiry.after", "'12 moons' is not a duration"),
        (
            "multiplier: 1.5}",
            "tiers.levels[2].multiplier",
            "expected a number, got 'one and a half'",
        ),
    ],
)
def test_demo_mistakes_read_well(broken, path, message):
    replacement = {
        "to: 2026-12-26": "to: 2026-12-32",
        "amount: {at_least: 1000}": "amout: {at_least: 1000}",
        "per: calendar_month}": "per: calendar_mnth}",
        "after: 12 months": "after: 12 moons",
        "multiplier: 1.5}": "multiplier: one and a half}",
    }[broken]
    [error] = errors_of(DEMO_TEXT.replace(broken, replacement))
    assert error["path"] == path
    assert error["message"].startswith(message)


def test_unknown_condition_operator_is_rejected():
    [error] = errors_of(DEMO_TEXT.replace("at_least: 1000", "atleast: 1000"))
    assert error["path"] == "rules[5].conditions.amount"
    assert error["message"] == "unknown key 'atleast' — did you mean 'at_least'?"


def test_points_per_dollar_needs_a_purchase():
    [error] = errors_of(MINI.replace("points: 25", "points_per_dollar: 2"))
    assert error["message"] == "points per dollar needs a purchase, and this rule is on 'review'"


def test_python_tags_are_refused():
    [error] = errors_of(MINI.replace("points: 25", "points: !!python/object:os.system 25"))
    assert "not allowed" in error["message"]


def test_any_action_name_is_an_event_type():
    program = load_program(MINI.replace("on: review", "on: visit"))
    assert program.actions == {"purchase", "visit"}


def test_rate_is_read_from_its_text_not_a_float():
    program = load_program(MINI.replace("points_per_dollar: 1}", "points_per_dollar: 0.29}"))
    assert program.rule("spend").award.rate == Fraction(29, 100)
    event = EventFacts("purchase", datetime(2026, 11, 23, 17, tzinfo=UTC), amount=10000)
    # $100 × 0.29 is 29; with floats it is 28.999999999999996
    assert evaluate(program, event, MemberFacts("mem_1", "member")).awards[0].points == 29


def test_rule_error_and_exception_read_as_file_line_column():
    with pytest.raises(RulesInvalid) as caught:
        load_program(MINI.replace("points: 25", "point: 25"), "rules/demo.yaml")
    assert str(caught.value) == (
        "rules/demo.yaml:12:7: rules[1].award: unknown key 'point' — did you mean 'points'?"
    )
