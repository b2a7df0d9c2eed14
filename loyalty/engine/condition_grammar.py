"""The conditions of an earning rule in the YAML, checked and compiled."""

import re
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, ScalarNode

from .checker import Checker, suggestion
from .conditions import EVENT_FIELDS, LISTS, OPERATORS, ORDERING, TEXT_FIELDS, Condition

ATTRIBUTE = re.compile(r"attributes\.[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class RuleContext:
    """What a rule is checked against: the rest of the program."""

    currency: str
    tier_rank: dict | None  # None when the tiers themselves are invalid


def read_conditions(c: Checker, node, path: str, context: RuleContext) -> tuple[Condition, ...]:
    if not isinstance(node, MappingNode):
        c.error(node, path, "expected a mapping of field: {operator: value}")
        return ()
    conditions = []
    seen = set()
    for key_node, value_node in node.value:
        name = key_node.value if isinstance(key_node, ScalarNode) else ""
        if name in seen:
            c.error(key_node, path, f"'{name}' is given twice")
            continue
        seen.add(name)
        if name not in EVENT_FIELDS and name != "member.tier" and not ATTRIBUTE.fullmatch(name):
            c.error(
                key_node,
                path,
                f"unknown field '{name}'{suggestion(name, EVENT_FIELDS + ('member.tier',))}"
                " (or attributes.<name>)",
            )
            continue
        operators = c.mapping(value_node, f"{path}.{name}", tuple(OPERATORS))
        for operator, operand in (operators or {}).items():
            value = _operand(c, operand, f"{path}.{name}.{operator}", name, operator, context)
            if value is not None:
                conditions.append(
                    Condition(name, operator, value, context.currency, context.tier_rank or {})
                )
    return tuple(conditions)


def _operand(c: Checker, node, path: str, name: str, operator: str, context: RuleContext):
    if operator in LISTS:
        items = c.sequence(node, path)
        if items is None:
            return None
        values = tuple(
            _scalar(c, item, f"{path}[{i}]", name, context) for i, item in enumerate(items)
        )
        return None if None in values else values
    value = _scalar(c, node, path, name, context)
    if (
        value is not None
        and operator in ORDERING
        and name != "member.tier"
        and not _is_number(value)
    ):
        c.error(node, path, f"'{operator}' compares numbers, got '{value}'")
        return None
    return value


def _scalar(c: Checker, node, path: str, name: str, context: RuleContext):
    value = c.value(node, path)
    if value is None:
        return None
    if name == "amount" and not (isinstance(value, int) and not isinstance(value, bool)):
        c.error(
            node,
            path,
            f"amount is in minor units, a whole number (1000 is $10.00), got '{node.value}'",
        )
        return None
    if name in TEXT_FIELDS:
        value = node.value
    if name == "member.tier" and context.tier_rank is not None and value not in context.tier_rank:
        c.error(node, path, f"unknown tier '{value}'{suggestion(value, context.tier_rank)}")
        return None
    return value


def _is_number(value) -> bool:
    return not isinstance(value, (bool, str))
