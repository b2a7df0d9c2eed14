"""Conditions on an event's fields, compiled once per program."""

from dataclasses import dataclass, field
from typing import Any

from . import reasons

EVENT_FIELDS = ("amount", "currency", "store_id", "channel")
FIELDS = EVENT_FIELDS + ("member.tier", "attributes.<name>")
TEXT_FIELDS = frozenset({"currency", "store_id", "channel", "member.tier"})
ORDERING = frozenset({"at_least", "at_most", "more_than", "less_than"})
LISTS = frozenset({"in", "not_in"})
OPERATORS = reasons.OPERATOR_WORDS
_MISSING_PASSES = frozenset({"not_equals", "not_in"})


def _holds(operator: str, actual, expected) -> bool:
    if operator == "equals":
        return actual == expected
    if operator == "not_equals":
        return actual != expected
    if operator == "in":
        return actual in expected
    if operator == "not_in":
        return actual not in expected
    try:
        if operator == "at_least":
            return actual >= expected
        if operator == "at_most":
            return actual <= expected
        if operator == "more_than":
            return actual > expected
        return actual < expected
    except TypeError:
        return False


@dataclass(frozen=True, slots=True)
class Condition:
    """`field` `operator` `value`; member.tier orders by the tiers' rank."""

    field: str
    operator: str
    value: Any
    currency: str
    tier_rank: dict = field(default_factory=dict, compare=False, repr=False)

    def actual(self, event, tier_id: str):
        name = self.field
        if name == "member.tier":
            return tier_id
        if name.startswith("attributes."):
            return event.attributes.get(name[11:])
        return getattr(event, name)

    def failure(self, event, tier_id: str) -> tuple[str, dict] | None:
        """None when the condition holds, else why not: its reason code and arguments."""
        actual = self.actual(event, tier_id)
        if actual is None:
            if self.operator in _MISSING_PASSES:
                return None
        else:
            left, right = actual, self.value
            if self.field == "member.tier" and self.operator in ORDERING:
                left, right = self.tier_rank.get(actual, -1), self.tier_rank[self.value]
            if _holds(self.operator, left, right):
                return None
        return "condition_not_met", {
            "field": self.field,
            "operator": self.operator,
            "expected": reasons.plain(self.value),
            "actual": reasons.plain(actual),
            "currency": self.currency if self.field == "amount" else None,
        }
