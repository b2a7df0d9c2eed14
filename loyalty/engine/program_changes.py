"""What a new version of the program changes, in a marketer's words: "coffee-bonus: 1 → 2 points per $1".

Compares two compiled programs, rule by rule (by id), tier by tier and reward
by reward; the wording of each rule's award is the one the widget and the
explanations use.
"""

from .program import Cap, FixedAward, Program, Rule, SpendAward
from .progress_changes import progress_changes
from .reasons import LIMIT_WORDS, unit


def program_changes(old: Program, new: Program) -> list[str]:
    """Every change from ``old`` to ``new``, in the order of the new program; [] when they do the same."""
    said = []
    old_rules = {rule.id: rule for rule in old.rules}
    new_ids = {rule.id for rule in new.rules}
    for rule in new.rules:
        before = old_rules.get(rule.id)
        if before is None:
            said.append(f"New rule {rule.id}: {award_words(rule, new)} {when_words(rule)}".rstrip())
        else:
            said.extend(f"{rule.id}: {change}" for change in _rule_changes(before, rule, old, new))
    said.extend(f"Rule {rule.id} removed ({award_words(rule, old)} {when_words(rule)})".replace(" )", ")")
                for rule in old.rules if rule.id not in new_ids)
    said.extend(_cap_changes(old, new))
    said.extend(_tier_changes(old, new))
    said.extend(_reward_changes(old, new))
    said.extend(progress_changes(old, new))
    said.extend(_setting_changes(old, new))
    return said


def _rule_changes(before: Rule, after: Rule, old: Program, new: Program) -> list[str]:
    changes = []
    if before.on != after.on:
        changes.append(f"now for {after.on} (was {before.on})")
    if award_words(before, old) != award_words(after, new):
        changes.append(f"{award_words(before, old)} → {award_words(after, new)}")
    if before.window != after.window:
        changes.append(f"{_window(before) or 'any day'} → {_window(after) or 'any day'}")
    if before.limit != after.limit:
        changes.append(f"{_limit(before) or 'no limit'} → {_limit(after) or 'no limit'}")
    if before.conditions != after.conditions:
        changes.append("its conditions changed")
    if before.multiply_by_tier != after.multiply_by_tier:
        changes.append("now multiplied by the tier" if after.multiply_by_tier else "no longer multiplied by the tier")
    if before.pending_days != after.pending_days:
        changes.append(f"points pending {before.pending_days} → {after.pending_days} days")
    return changes


def award_words(rule: Rule, program: Program) -> str:
    if rule.referral:
        return (f"{rule.referral.referrer_points} points to the referrer, "
                f"{rule.referral.referred_points} to the friend")
    award = rule.award
    if isinstance(award, FixedAward):
        return f"{award.points} points"
    if isinstance(award, SpendAward):
        rate = award.rate_text
        on = ""
        if award.of == "items":
            named = sorted(award.categories or ()) + sorted(award.skus or ())
            on = f" on {' or '.join(named)}" if named else " on items"
        return f"{rate} {'point' if award.rate == 1 else 'points'} per {unit(program.currency)}{on}"
    return "no points"


def when_words(rule: Rule) -> str:
    parts = [f"for {rule.on}"]
    if _window(rule):
        parts.append(_window(rule))
    if _limit(rule):
        parts.append(_limit(rule))
    return ", ".join(parts)


def _window(rule: Rule) -> str:
    window = rule.window
    if window is None:
        return ""
    if window.start and window.end:
        return f"{window.start:%b} {window.start.day}–{window.end:%b} {window.end.day}, {window.end.year}"
    return f"from {window.start}" if window.start else f"until {window.end}" if window.end else "some weekdays"


def _limit(rule: Rule) -> str:
    limit = rule.limit
    return "" if limit is None else f"{limit.count} {LIMIT_WORDS[limit.per]}"


def _cap_words(cap: Cap) -> str:
    return f"at most {cap.max_points:,} points {LIMIT_WORDS[cap.per]} from {', '.join(cap.rules)}"


def _cap_changes(old: Program, new: Program) -> list[str]:
    before = {cap.id: cap for cap in old.caps}
    said = []
    for cap in new.caps:
        was = before.pop(cap.id, None)
        if was is None:
            said.append(f"New cap {cap.id}: {_cap_words(cap)}")
        elif _cap_words(was) != _cap_words(cap):
            said.append(f"Cap {cap.id}: {_cap_words(was)} → {_cap_words(cap)}")
    said.extend(f"Cap {cap.id} removed ({_cap_words(cap)})" for cap in before.values())
    return said


def _setting_changes(old: Program, new: Program) -> list[str]:
    settings = [
        ("Program name", old.name, new.name), ("Currency", old.currency, new.currency),
        ("A point's value (cents)", old.point_value, new.point_value),
        ("Timezone", old.timezone.key, new.timezone.key),
        ("Qualifying points count over (days)", old.qualifying_window.days, new.qualifying_window.days),
        ("A tier is held for (days)", old.tier_hold.days, new.tier_hold.days),
        ("Repeat customers buy again within (days)", old.repeat_within_days, new.repeat_within_days),
        ("Lapsed after (days)", old.lapsed_after_days, new.lapsed_after_days),
        ("Transfers between members", _transfer_words(old), _transfer_words(new)),
    ]
    said = [f"{name}: {was} → {now}" for name, was, now in settings if was != now]
    if old.expiry != new.expiry:
        said.append("Points expiry changed (for points earned from now on)")
    return said


def _tier_changes(old: Program, new: Program) -> list[str]:
    said = []
    before = {tier.id: tier for tier in old.tiers}
    after = {tier.id: tier for tier in new.tiers}
    for tier in new.tiers:
        was = before.get(tier.id)
        if was is None:
            said.append(f"New tier {tier.name}: from {tier.qualifying_points:,} qualifying points, "
                        f"× {tier.multiplier_text}")
            continue
        if was.qualifying_points != tier.qualifying_points:
            said.append(f"Tier {tier.name}: {was.qualifying_points:,} → {tier.qualifying_points:,} qualifying points")
        if was.multiplier != tier.multiplier:
            said.append(f"Tier {tier.name}: × {was.multiplier_text} → × {tier.multiplier_text}")
    said.extend(f"Tier {tier.name} removed" for tier in old.tiers if tier.id not in after)
    return said


def _reward_changes(old: Program, new: Program) -> list[str]:
    said = []
    for reward in new.rewards:
        was = old.reward(reward.id)
        if was is None:
            said.append(f"New reward {reward.name}: {reward.points_cost:,} points")
            continue
        if was.points_cost != reward.points_cost:
            said.append(f"Reward {reward.name}: {was.points_cost:,} → {reward.points_cost:,} points")
        if was.stock != reward.stock:
            said.append(f"Reward {reward.name}: stock {_stock(was.stock)} → {_stock(reward.stock)}")
        if was.tiers != reward.tiers:
            said.append(f"Reward {reward.name}: for {_tiers(was.tiers, old)} → for {_tiers(reward.tiers, new)}")
        if (was.type, was.value) != (reward.type, reward.value) or \
                (was.available_from, was.available_until) != (reward.available_from, reward.available_until):
            said.append(f"Reward {reward.name}: its type, value or dates changed")
    said.extend(f"Reward {reward.name} removed from the catalog" for reward in old.rewards
                if new.reward(reward.id) is None)
    return said


def _stock(stock: int | None) -> str:
    return "unlimited" if stock is None else f"{stock:,}"


def _tiers(tiers: tuple[str, ...], program: Program) -> str:
    return ", ".join(program.tier_names.get(tier, tier) for tier in tiers) if tiers else "every tier"


def _transfer_words(program: Program) -> str:
    policy = program.transfers
    if not policy.enabled:
        return "off"
    monthly = f", at most {policy.max_points_per_month:,} a month" if policy.max_points_per_month else ""
    return f"on, from {policy.min_points:,} points{monthly}"
