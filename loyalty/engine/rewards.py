"""The reward catalog: what members can spend points on, read from the `rewards:` section."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from .checker import Checker, suggestion
from .rule_grammar import RULE_ID

REWARD_TYPES = ("fixed_discount", "percent_discount", "free_item", "store_credit", "merchandise", "custom")
MONEY_TYPES = ("fixed_discount", "store_credit")
STRIPE_TYPES = ("fixed_discount", "percent_discount", "store_credit")
DEFAULT_CODE_VALID_DAYS = 30
KEYS = ("id", "name", "description", "points_cost", "type", "value", "tiers", "stock", "available",
        "code_valid_days", "stripe")


@dataclass(frozen=True, slots=True)
class Reward:
    """One catalog entry. ``value`` is minor units for money types, a percentage for
    percent_discount, None otherwise; ``tiers`` empty means every tier may redeem;
    ``available_from``/``available_until`` are inclusive days on the program's calendar."""

    id: str
    name: str
    description: str
    points_cost: int
    type: str
    value: int | None = None
    currency: str | None = None
    tiers: tuple[str, ...] = ()
    stock: int | None = None
    available_from: date | None = None
    available_until: date | None = None
    code_valid_days: int = DEFAULT_CODE_VALID_DAYS
    stripe: bool = False

    def unavailable_reason(self, tier_id: str, now: datetime, timezone: ZoneInfo,
                           tier_names: Mapping[str, str] = MappingProxyType({})) -> str | None:
        """Why a member of ``tier_id`` cannot redeem this now, before balance and stock, in words a
        customer reads: tiers by their names (``tier_names``: id → name), days spelled out."""
        today = now.astimezone(timezone).date()
        if self.available_from and today < self.available_from:
            return f"Available from {_day(self.available_from)}."
        if self.available_until and today > self.available_until:
            return f"No longer available: the offer ended on {_day(self.available_until)}."
        if self.tiers and tier_id not in self.tiers:
            names = [tier_names.get(tier, tier) for tier in self.tiers]
            listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
            return f"Only for {listed} members."
        return None


def _day(day: date) -> str:
    """2026-12-20 → "December 20, 2026"."""
    return f"{day:%B} {day.day}, {day.year}"


def read_rewards(c: Checker, node, currency: str, tier_ids: set[str]) -> tuple[Reward, ...] | None:
    items = c.sequence(node, "rewards")
    if items is None:
        return None
    rewards: list[Reward] = []
    ok = True
    for i, item in enumerate(items):
        reward = _reward(c, item, f"rewards[{i}]", currency, tier_ids)
        if reward is None:
            ok = False
        elif reward.id in {r.id for r in rewards}:
            c.error(item, f"rewards[{i}].id", f"reward id '{reward.id}' is used twice")
            ok = False
        else:
            rewards.append(reward)
    return tuple(rewards) if ok else None


def _reward(c: Checker, node, path: str, currency: str, tier_ids: set[str]) -> Reward | None:
    keys = c.mapping(node, path, KEYS, required=("id", "name", "points_cost", "type"))
    if keys is None or not {"id", "name", "points_cost", "type"} <= set(keys):
        return None
    before = len(c.errors)
    reward_id = c.text(keys["id"], f"{path}.id", RULE_ID, "an id of letters, digits, - and _")
    name = c.text(keys["name"], f"{path}.name")
    description = c.text(keys["description"], f"{path}.description") if "description" in keys else ""
    cost = c.integer(keys["points_cost"], f"{path}.points_cost", 1)
    kind = c.choice(keys["type"], f"{path}.type", REWARD_TYPES)
    value = _value(c, keys, path, kind)
    tiers = _tiers(c, keys["tiers"], f"{path}.tiers", tier_ids) if "tiers" in keys else ()
    stock = c.integer(keys["stock"], f"{path}.stock") if "stock" in keys else None
    start, end = _available(c, keys["available"], f"{path}.available") if "available" in keys else (None, None)
    valid_days = (c.integer(keys["code_valid_days"], f"{path}.code_valid_days", 1)
                  if "code_valid_days" in keys else DEFAULT_CODE_VALID_DAYS)
    stripe = c.boolean(keys["stripe"], f"{path}.stripe") if "stripe" in keys else False
    if stripe and kind is not None and kind not in STRIPE_TYPES:
        c.error(keys["stripe"], f"{path}.stripe",
                f"only {', '.join(STRIPE_TYPES)} rewards can be issued through Stripe, not {kind}")
    if len(c.errors) > before:
        return None
    return Reward(
        id=reward_id, name=name, description=description, points_cost=cost, type=kind, value=value,
        currency=currency if kind in MONEY_TYPES else None, tiers=tiers, stock=stock,
        available_from=start, available_until=end, code_valid_days=valid_days, stripe=stripe,
    )


def _value(c: Checker, keys: dict, path: str, kind: str | None) -> int | None:
    needs_value = kind in MONEY_TYPES or kind == "percent_discount"
    if "value" not in keys:
        if needs_value:
            what = "a percentage" if kind == "percent_discount" else "an amount in minor units (500 is $5.00)"
            c.error(keys["type"], f"{path}.value", f"a {kind} reward needs 'value': {what}")
        return None
    if kind == "percent_discount":
        value = c.integer(keys["value"], f"{path}.value", 1, "a whole percentage")
        if value is not None and value > 100:
            c.error(keys["value"], f"{path}.value", f"a discount cannot exceed 100% (got {value})")
            return None
        return value
    return c.integer(keys["value"], f"{path}.value", 1, "an amount in minor units (500 is $5.00)")


def _tiers(c: Checker, node, path: str, tier_ids: set[str]) -> tuple[str, ...]:
    names = []
    for i, item in enumerate(c.sequence(node, path) or ()):
        name = c.text(item, f"{path}[{i}]")
        if name is not None and name not in tier_ids:
            c.error(item, f"{path}[{i}]", f"unknown tier '{name}'{suggestion(name, tier_ids)}")
        elif name is not None:
            names.append(name)
    return tuple(names)


def _available(c: Checker, node, path: str) -> tuple[date | None, date | None]:
    keys = c.mapping(node, path, ("from", "to"))
    if keys is None:
        return None, None
    start = c.date(keys["from"], f"{path}.from") if "from" in keys else None
    end = c.date(keys["to"], f"{path}.to") if "to" in keys else None
    if start and end and end < start:
        c.error(keys["to"], f"{path}.to", f"the offer ends ({end}) before it starts ({start})")
    return start, end
