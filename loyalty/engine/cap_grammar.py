"""The ``caps:`` section: several rules that together award at most so many points a period."""

from ruamel.yaml.nodes import MappingNode, ScalarNode

from .checker import Checker, suggestion
from .periods import PERIODS
from .program import Cap
from .rule_grammar import RULE_ID


def declared_ids(rule_nodes: list) -> set[str]:
    """Ids written in the rules, valid or not, so a cap naming a broken rule is not 'unknown'."""
    ids = set()
    for _c, node, _path in rule_nodes:
        if not isinstance(node, MappingNode):
            continue
        for key, value in node.value:
            if key.value == "id" and isinstance(value, ScalarNode):
                ids.add(value.value)
    return ids


def read_caps(c: Checker, node, rules: dict, declared: set[str]) -> tuple[Cap, ...]:
    items = c.sequence(node, "caps")
    caps = []
    for i, item in enumerate(items or ()):
        path = f"caps[{i}]"
        keys = c.mapping(
            item,
            path,
            ("id", "description", "rules", "max_points", "per"),
            required=("id", "rules", "max_points", "per"),
        )
        if keys is None or len(set(keys) - {"description"}) < 4:
            continue
        cap_id = c.text(keys["id"], f"{path}.id", RULE_ID, "an id of letters, digits, - and _")
        description = (
            c.text(keys["description"], f"{path}.description") if "description" in keys else ""
        )
        max_points = c.integer(keys["max_points"], f"{path}.max_points", 1)
        per = c.choice(keys["per"], f"{path}.per", PERIODS)
        names = _cap_rules(c, keys["rules"], f"{path}.rules", rules, declared)
        if cap_id in {cap.id for cap in caps}:
            c.error(keys["id"], f"{path}.id", f"cap id '{cap_id}' is used twice")
        elif None not in (cap_id, description, max_points, per, names):
            caps.append(Cap(cap_id, description, names, max_points, per))
    return tuple(caps)


def _cap_rules(
    c: Checker, node, path: str, rules: dict, declared: set[str]
) -> tuple[str, ...] | None:
    items = c.sequence(node, path)
    if items is None:
        return None
    names = []
    for i, item in enumerate(items):
        name = c.text(item, f"{path}[{i}]")
        if name is None:
            return None
        rule = rules.get(name)
        if rule is None:
            if name not in declared:
                c.error(item, f"{path}[{i}]", f"unknown rule '{name}'{suggestion(name, declared)}")
            return None
        if rule.referral is not None:
            c.error(
                item,
                f"{path}[{i}]",
                f"'{name}' is a referral rule; caps apply to rules with an award",
            )
            return None
        names.append(name)
    return tuple(names)
