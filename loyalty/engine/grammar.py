"""The program's sections (program, expiry, lifecycle, tiers) and their assembly with the others."""

import re
import zoneinfo
from dataclasses import replace
from datetime import timedelta
from fractions import Fraction

from .cap_grammar import declared_ids, read_caps
from .challenge_grammar import read_progress
from .checker import Checker, suggestion
from .condition_grammar import RuleContext
from .errors import RuleError
from .program import Program, Tier, TransferPolicy
from .rewards import read_rewards
from .rule_grammar import RULE_ID, read_expiry, read_rule
from .streak_grammar import read_streaks
from .transfers import read_transfers

SECTIONS = ("program", "expiry", "lifecycle", "tiers", "caps", "rules", "rewards", "transfers", "cards", "badges",
            "challenges", "streaks")
CURRENCY = re.compile(r"[A-Z]{3}")
DEFAULT_TIERS = (Tier("member", "Member", 0, Fraction(1), "1"),)


def build(
    sections: dict, rule_nodes: list, errors: list, source_hash: str, first_file: str
) -> Program | None:
    """`sections`: name → (Checker, node); `rule_nodes`: (Checker, node, path)."""
    if "program" not in sections:
        errors.append(RuleError(first_file, 1, 1, "program",
                                "missing the 'program' section (name, currency, point_value, timezone)"))
        head = None
    else:
        head = _program(*sections["program"])
    expiry = read_expiry(*sections["expiry"], "expiry", program_level=True) if "expiry" in sections else None
    lifecycle = _lifecycle(*sections["lifecycle"]) if "lifecycle" in sections else (90, 180)
    tiers = _tiers(*sections["tiers"]) if "tiers" in sections else (DEFAULT_TIERS, 365, 365)
    tier_rank = {tier.id: i for i, tier in enumerate(tiers[0])} if tiers else None
    context = RuleContext(head["currency"] if head else "USD", tier_rank)
    read = [read_rule(c, node, path, context) for c, node, path in rule_nodes]
    rules = _unique_rules(read, rule_nodes)
    caps = read_caps(*sections["caps"], rules, declared_ids(rule_nodes)) if "caps" in sections else ()
    transfers = read_transfers(*sections["transfers"]) if "transfers" in sections else TransferPolicy()
    rewards = ()
    if "rewards" in sections and tier_rank is not None:
        rewards = read_rewards(*sections["rewards"], context.currency, set(tier_rank))
    unread = rewards is None or ("rewards" in sections and tier_rank is None)
    catalog = None if unread else {reward.id: reward for reward in rewards}
    cards, badges, challenges = read_progress(sections, catalog, declared_ids(rule_nodes))
    streaks = _streaks(sections, badges, declared_ids(rule_nodes), cards, challenges)
    if tiers and "tiers" in sections:
        _check_tier_badges(*sections["tiers"], tiers[0], badges)
    if errors:
        return None
    compiled = tuple(
        replace(
            r.rule,
            expiry=r.rule.expiry if r.own_expiry else expiry,
            caps=tuple(cap for cap in caps if r.rule.id in cap.rules),
        )
        for r in read
    )
    return Program(
        name=head["name"],
        currency=head["currency"],
        point_value=head["point_value"],
        timezone=head["timezone"],
        source_hash=source_hash,
        rules=compiled,
        tiers=tiers[0],
        caps=caps,
        expiry=expiry,
        qualifying_window=timedelta(days=tiers[1]),
        tier_hold=timedelta(days=tiers[2]),
        repeat_within_days=lifecycle[0],
        lapsed_after_days=lifecycle[1],
        rewards=rewards,
        transfers=transfers,
        cards=cards,
        badges=badges,
        challenges=challenges,
        streaks=streaks,
    )


def _streaks(sections: dict, badges, rule_ids: set[str], cards, challenges) -> tuple | None:
    if "streaks" not in sections:
        return ()
    badge_ids = None if badges is None else {badge.id for badge in badges}
    taken = rule_ids | {card.id for card in cards or ()} | {c.id for c in challenges or ()}
    return read_streaks(*sections["streaks"], badge_ids, taken)


def _check_tier_badges(c: Checker, node, tiers, badges) -> None:
    """A tier's badge is a declared one, and not on the first tier (every member starts there)."""
    levels = _value(node, "levels").value
    badge_ids = None if badges is None else {badge.id for badge in badges}
    for i, tier in enumerate(tiers):
        if tier.badge_id is None:
            continue
        at, path = _value(levels[i], "badge"), f"tiers.levels[{i}].badge"
        if i == 0:
            c.error(at, path, "every member starts in the first tier: put the badge on a tier members reach")
        elif badge_ids is not None and tier.badge_id not in badge_ids:
            c.error(at, path, f"unknown badge '{tier.badge_id}'{suggestion(tier.badge_id, badge_ids)}")


def _program(c: Checker, node) -> dict | None:
    keys = c.mapping(
        node,
        "program",
        ("name", "currency", "point_value", "timezone"),
        required=("name", "currency", "timezone"),
    )
    if keys is None:
        return None
    head = {
        "name": c.text(keys["name"], "program.name") if "name" in keys else None,
        "currency": c.text(
            keys["currency"], "program.currency", CURRENCY, "a 3-letter code like USD"
        )
        if "currency" in keys
        else None,
        "point_value": c.integer(keys["point_value"], "program.point_value")
        if "point_value" in keys
        else 1,
        "timezone": _timezone(c, keys["timezone"]) if "timezone" in keys else None,
    }
    return None if None in head.values() else head


def _timezone(c: Checker, node) -> zoneinfo.ZoneInfo | None:
    name = c.text(node, "program.timezone", what="a timezone like America/New_York")
    if name is None:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = suggestion(name, zoneinfo.available_timezones())
        hint = hint if "did you mean" in hint else " (use an IANA name like America/New_York)"
        c.error(node, "program.timezone", f"unknown timezone '{name}'{hint}")
        return None


def _lifecycle(c: Checker, node) -> tuple[int, int] | None:
    keys = c.mapping(node, "lifecycle", ("repeat_within_days", "lapsed_after_days"))
    if keys is None:
        return None
    repeat = (
        c.integer(keys["repeat_within_days"], "lifecycle.repeat_within_days", 1)
        if "repeat_within_days" in keys
        else 90
    )
    lapsed = (
        c.integer(keys["lapsed_after_days"], "lifecycle.lapsed_after_days", 1)
        if "lapsed_after_days" in keys
        else 180
    )
    if repeat is None or lapsed is None:
        return None
    if lapsed <= repeat:
        c.error(
            keys.get("lapsed_after_days", node),
            "lifecycle.lapsed_after_days",
            f"must be more than repeat_within_days ({repeat})",
        )
        return None
    return repeat, lapsed


def _tiers(c: Checker, node):
    keys = c.mapping(
        node, "tiers", ("qualifying_window_days", "hold_days", "levels"), required=("levels",)
    )
    if keys is None:
        return None
    window = (
        c.integer(keys["qualifying_window_days"], "tiers.qualifying_window_days", 1)
        if "qualifying_window_days" in keys
        else 365
    )
    hold = c.integer(keys["hold_days"], "tiers.hold_days", 1) if "hold_days" in keys else 365
    levels = c.sequence(keys["levels"], "tiers.levels") if "levels" in keys else None
    if levels is not None and not levels:
        c.error(keys["levels"], "tiers.levels", "list at least one tier")
    tiers = [_tier(c, level, f"tiers.levels[{i}]") for i, level in enumerate(levels or ())]
    if None in tiers or window is None or hold is None or not tiers:
        return None
    ok = True
    if tiers[0].qualifying_points != 0:
        c.error(
            _value(levels[0], "qualifying_points"),
            "tiers.levels[0].qualifying_points",
            "the first tier must start at 0 qualifying points",
        )
        ok = False
    for i in range(1, len(tiers)):
        previous, tier = tiers[i - 1], tiers[i]
        if tier.id in {t.id for t in tiers[:i]}:
            c.error(
                _value(levels[i], "id"),
                f"tiers.levels[{i}].id",
                f"tier id '{tier.id}' is used twice",
            )
            ok = False
        if tier.qualifying_points <= previous.qualifying_points:
            c.error(
                _value(levels[i], "qualifying_points"),
                f"tiers.levels[{i}].qualifying_points",
                f"tiers go from lowest to highest: {tier.id} needs more qualifying points than "
                f"{previous.id} ({tier.qualifying_points:,} is not above {previous.qualifying_points:,})",
            )
            ok = False
    return (tuple(tiers), window, hold) if ok else None


def _value(mapping, key: str):
    """The value node under `key`, for pointing an error at it."""
    return next((v for k, v in mapping.value if k.value == key), mapping)


def _tier(c: Checker, node, path: str) -> Tier | None:
    keys = c.mapping(
        node,
        path,
        ("id", "name", "qualifying_points", "multiplier", "badge"),
        required=("id", "qualifying_points"),
    )
    if keys is None or "id" not in keys or "qualifying_points" not in keys:
        return None
    tier_id = c.text(keys["id"], f"{path}.id", RULE_ID, "an id of letters, digits, - and _")
    name = c.text(keys["name"], f"{path}.name") if "name" in keys else tier_id
    points = c.integer(keys["qualifying_points"], f"{path}.qualifying_points")
    multiplier = (
        c.number(keys["multiplier"], f"{path}.multiplier") if "multiplier" in keys else (1, "1")
    )
    badge_id = c.text(keys["badge"], f"{path}.badge") if "badge" in keys else None
    if None in (tier_id, name, points, multiplier) or ("badge" in keys and badge_id is None):
        return None
    return Tier(tier_id, name, points, Fraction(multiplier[0]), multiplier[1], badge_id)


def _unique_rules(read: list, rule_nodes: list) -> dict:
    """rule id → Rule; a repeated id is an error where it is repeated."""
    rules = {}
    for r, (c, _node, path) in zip(read, rule_nodes, strict=True):
        if r is None:
            continue
        if r.rule.id in rules:
            c.error(r.id_node, f"{path}.id", f"rule id '{r.rule.id}' is used twice")
        else:
            rules[r.rule.id] = r.rule
    return rules
