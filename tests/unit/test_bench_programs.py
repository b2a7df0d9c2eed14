"""The engine benchmark's generated programs must be valid and hold the rules they claim to."""

from bench.engine import DEMO, program_text
from loyalty.engine import load_program


def test_generated_rules_join_the_demo_rules_and_leave_the_rest_alone():
    demo = load_program(DEMO)
    grown = load_program(program_text(25))
    assert [rule.id for rule in grown.rules] == [rule.id for rule in demo.rules] + [f"gen-{i}" for i in range(25)]
    assert [reward.id for reward in grown.rewards] == [reward.id for reward in demo.rewards]
