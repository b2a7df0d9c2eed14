"""One earning rule of the YAML, checked and compiled."""

import re
from dataclasses import dataclass

from ruamel.yaml.nodes import ScalarNode, SequenceNode

from .checker import Checker, suggestion
from .condition_grammar import RuleContext, read_conditions
from .expiry import read_expiry
from .periods import DAY_NAMES, PERIODS
from .program import FixedAward, Limit, Referral, Rule, SpendAward, Window

RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
ACTION = re.compile(r"[a-z][a-z0-9_]*")

RULE_KEYS = (
    "id",
    "description",
    "on",
    "award",
    "referral",
    "multiply_by_tier",
    "conditions",
    "window",
    "limit",
    "pending_days",
    "expires",
)
AWARD_KEYS = ("points", "points_per_dollar", "of", "where")
REFERRAL_KEYS = ("referrer_points", "referred_points", "referrer_limit", "block_shared_email")
ITEM_FILTERS = ("category", "sku")


@dataclass(frozen=True)
class ReadRule:
    rule: Rule
    id_node: ScalarNode
    own_expiry: bool


def read_limit(c: Checker, node, path: str) -> Limit | None:
    keys = c.mapping(node, path, ("count", "per"), required=("count", "per"))
    if not keys or len(keys) < 2:
        return None
    count = c.integer(keys["count"], f"{path}.count", minimum=1)
    per = c.choice(keys["per"], f"{path}.per", PERIODS)
    return Limit(count, per) if count is not None and per is not None else None


def read_rule(c: Checker, node, path: str, context: RuleContext) -> ReadRule | None:
    keys = c.mapping(node, path, RULE_KEYS, required=("id", "on"))
    if keys is None:
        return None
    errors_before = len(c.errors)
    rule_id = (
        c.text(keys["id"], f"{path}.id", RULE_ID, "an id of letters, digits, - and _")
        if "id" in keys
        else None
    )
    on = (
        c.text(keys["on"], f"{path}.on", ACTION, "an action name like purchase or review")
        if "on" in keys
        else None
    )
    description = (
        c.text(keys["description"], f"{path}.description") if "description" in keys else ""
    )
    award, referral = _award_or_referral(c, node, keys, path, on)
    multiply = False
    if "multiply_by_tier" in keys:
        multiply = c.boolean(keys["multiply_by_tier"], f"{path}.multiply_by_tier")
        if multiply and "referral" in keys:
            c.error(
                keys["multiply_by_tier"],
                f"{path}.multiply_by_tier",
                "a referral rule's points are not multiplied by tier",
            )
    conditions = (
        read_conditions(c, keys["conditions"], f"{path}.conditions", context)
        if "conditions" in keys
        else ()
    )
    window = _window(c, keys["window"], f"{path}.window") if "window" in keys else None
    limit = read_limit(c, keys["limit"], f"{path}.limit") if "limit" in keys else None
    pending = (
        c.integer(keys["pending_days"], f"{path}.pending_days") if "pending_days" in keys else 0
    )
    expiry = read_expiry(c, keys["expires"], f"{path}.expires") if "expires" in keys else None
    if len(c.errors) > errors_before or rule_id is None:
        return None
    rule = Rule(
        id=rule_id,
        description=description or "",
        on=on,
        award=award,
        referral=referral,
        multiply_by_tier=bool(multiply),
        conditions=conditions,
        window=window,
        limit=limit,
        pending_days=pending,
        expiry=expiry,
    )
    return ReadRule(rule, keys["id"], "expires" in keys)


def _award_or_referral(c: Checker, node, keys: dict, path: str, on: str | None) -> tuple:
    """(award, referral): a rule gives one of the two."""
    if "award" in keys and "referral" in keys:
        c.error(keys["referral"], f"{path}.referral", "a referral rule has no 'award'; keep one of the two")
    elif "award" in keys:
        return _award(c, keys["award"], f"{path}.award", on), None
    elif "referral" in keys:
        return None, _referral(c, keys["referral"], f"{path}.referral")
    else:
        c.error(node, path, "missing 'award' (or a 'referral' block)")
    return None, None


def _award(c: Checker, node, path: str, on: str | None):
    errors_before = len(c.errors)
    keys = c.mapping(node, path, AWARD_KEYS)
    if keys is None:
        return None
    if ("points" in keys) == ("points_per_dollar" in keys):
        if len(c.errors) == errors_before:  # an unknown key said it already
            c.error(node, path, "give exactly one of 'points' (fixed) or 'points_per_dollar'")
        return None
    if "points" in keys:
        for extra in ("of", "where"):
            if extra in keys:
                c.error(
                    keys[extra],
                    f"{path}.{extra}",
                    f"'{extra}' goes with 'points_per_dollar', not fixed 'points'",
                )
        points = c.integer(keys["points"], f"{path}.points")
        return FixedAward(points) if points is not None else None
    rate = c.number(keys["points_per_dollar"], f"{path}.points_per_dollar")
    if on is not None and on != "purchase":
        c.error(
            keys["points_per_dollar"],
            f"{path}.points_per_dollar",
            f"points per dollar needs a purchase, and this rule is on '{on}'",
        )
    of = c.choice(keys["of"], f"{path}.of", ("amount", "items")) if "of" in keys else "amount"
    filters = {}
    if "where" in keys:
        if of == "amount":
            c.error(keys["where"], f"{path}.where", "'where' picks items; add 'of: items'")
        filters = item_filters(c, keys["where"], f"{path}.where")
    if rate is None or of is None or filters is None:
        return None
    return SpendAward(rate[0], rate[1], of, filters.get("category"), filters.get("sku"))


def item_filters(c: Checker, node, path: str) -> dict | None:
    keys = c.mapping(node, path, ITEM_FILTERS)
    if keys is None:
        return None
    filters = {}
    for name, value in keys.items():
        values = _one_or_list(c, value, f"{path}.{name}")
        if values is None:
            return None
        filters[name] = frozenset(values)
    return filters


def _one_or_list(c: Checker, node, path: str) -> list[str] | None:
    if isinstance(node, SequenceNode):
        if not node.value:
            c.error(node, path, "the list is empty")
            return None
        values = [c.text(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        return None if None in values else values
    value = c.text(node, path)
    return None if value is None else [value]


def _referral(c: Checker, node, path: str) -> Referral | None:
    keys = c.mapping(node, path, REFERRAL_KEYS, required=("referrer_points", "referred_points"))
    if keys is None:
        return None
    referrer = (
        c.integer(keys["referrer_points"], f"{path}.referrer_points")
        if "referrer_points" in keys
        else None
    )
    referred = (
        c.integer(keys["referred_points"], f"{path}.referred_points")
        if "referred_points" in keys
        else None
    )
    limit = (
        read_limit(c, keys["referrer_limit"], f"{path}.referrer_limit")
        if "referrer_limit" in keys
        else None
    )
    block = (
        c.boolean(keys["block_shared_email"], f"{path}.block_shared_email")
        if "block_shared_email" in keys
        else False
    )
    if referrer is None or referred is None or block is None:
        return None
    return Referral(referrer, referred, limit, block)


def _window(c: Checker, node, path: str) -> Window | None:
    keys = c.mapping(node, path, ("from", "to", "days_of_week"))
    if keys is None:
        return None
    if not keys:
        c.error(node, path, "give 'from', 'to' or 'days_of_week'")
        return None
    start = c.date(keys["from"], f"{path}.from") if "from" in keys else None
    end = c.date(keys["to"], f"{path}.to") if "to" in keys else None
    if start and end and start > end:
        c.error(keys["to"], f"{path}.to", f"the window ends ({end}) before it starts ({start})")
    days = None
    if "days_of_week" in keys:
        names = _one_or_list(c, keys["days_of_week"], f"{path}.days_of_week") or []
        days = frozenset(
            DAY_NAMES.index(d.lower()[:3]) for d in names if d.lower()[:3] in DAY_NAMES
        )
        unknown = [d for d in names if d.lower()[:3] not in DAY_NAMES]
        for day in unknown:
            c.error(
                keys["days_of_week"],
                f"{path}.days_of_week",
                f"unknown day '{day}'{suggestion(day, DAY_NAMES)}",
            )
    return Window(start, end, days)
