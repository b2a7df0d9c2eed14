"""Forms and YAML as two views of one program: a form's edit rewrites the YAML text in place.

ruamel.yaml's round-trip mode reads the text into a tree that keeps its
comments, key order, flow style and spacing, and writes it back unchanged but
for the values a form set (``rules/program.yaml`` reads and writes back byte
for byte). The result is checked by the engine like any text.
"""

import io

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from loyalty.engine import RulesInvalid, load_program
from loyalty.errors import RulesRejected, ValidationFailed

PERIODS = ("day", "week", "calendar_month", "calendar_year", "member")


def _yaml() -> YAML:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def edit_rule(text: str, rule_id: str, *, points: int | None = None, points_per_dollar: str | None = None,
              limit_count: int | None = None, limit_per: str | None = None) -> str:
    """``text`` with the rule's award (fixed ``points`` or a ``points_per_dollar`` rate) and its limit
    (``limit_count`` times per ``limit_per``; a count of 0 removes the limit) set; everything else as written."""
    yaml = _yaml()
    try:
        document = yaml.load(text)
    except YAMLError:
        raise RulesRejected([{"line": 1, "column": 1, "path": "", "message": "fix the YAML before using the form"}]) \
            from None
    rule = _rule(document, rule_id)
    award = rule.get("award")
    if points is not None or points_per_dollar is not None:
        if not isinstance(award, CommentedMap):
            raise ValidationFailed({"rule_id": [f"rule {rule_id!r} has no award to change"]})
        _set_award(award, points, points_per_dollar)
    if limit_count is not None:
        _set_limit(rule, limit_count, limit_per)
    out = io.StringIO()
    yaml.dump(document, out)
    edited = out.getvalue()
    try:
        load_program(edited)
    except RulesInvalid as invalid:
        raise RulesRejected([error.as_dict() for error in invalid.errors]) from None
    return edited


def _rule(document, rule_id: str) -> CommentedMap:
    rules = document.get("rules") if isinstance(document, dict) else None
    for rule in rules or ():
        if isinstance(rule, dict) and rule.get("id") == rule_id:
            return rule
    raise ValidationFailed({"rule_id": [f"no rule {rule_id!r} in the rules"]})


def _set_award(award: CommentedMap, points: int | None, points_per_dollar: str | None) -> None:
    if points is not None:
        if "points" not in award:
            raise ValidationFailed({"points": ["this rule awards per dollar: give points_per_dollar"]})
        if points < 0:
            raise ValidationFailed({"points": ["must be 0 or more"]})
        award["points"] = points
    if points_per_dollar is not None:
        if "points_per_dollar" not in award:
            raise ValidationFailed({"points_per_dollar": ["this rule awards fixed points: give points"]})
        award["points_per_dollar"] = _rate(points_per_dollar)


def _rate(text: str):
    """A rate as the YAML would say it: 2, 1.5."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValidationFailed({"points_per_dollar": ["a number, e.g. 1 or 1.5"]}) from None
    if value < 0:
        raise ValidationFailed({"points_per_dollar": ["must be 0 or more"]})
    return int(value) if value == int(value) else value


def _set_limit(rule: CommentedMap, count: int, per: str | None) -> None:
    if count < 0:
        raise ValidationFailed({"limit_count": ["must be 0 (no limit) or more"]})
    if count == 0:
        rule.pop("limit", None)
        return
    if per not in PERIODS:
        raise ValidationFailed({"limit_per": [f"one of {', '.join(PERIODS)}"]})
    limit = rule.get("limit")
    if isinstance(limit, CommentedMap):
        limit["count"], limit["per"] = count, per
    else:
        limit = CommentedMap(count=count, per=per)
        limit.fa.set_flow_style()
        last = list(rule)[-1]
        trailing = rule.ca.items.pop(last, None)  # the blank line or comment after the rule stays after it
        rule["limit"] = limit
        if trailing is not None:
            rule.ca.items["limit"] = trailing
