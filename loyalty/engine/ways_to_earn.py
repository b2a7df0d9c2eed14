"""What a member can still earn and how, from the program's rules and the member's own use of them.

For the customer: actions in plain words, with the points at the member's own
tier, and what is left of each limit in the current period. Rules that can
never pay this member again (a once-per-member award already had, a window
that has ended, the enrolment bonus) are left out, and so are those for
other tiers than the member's; a rule used up for the
period stays, with nothing left, so the member sees when it comes back.
"""

from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction

from .periods import EventClock
from .program import FixedAward, Program, Rule, SpendAward

#: Actions a member does not take again or is not asked to.
_NOT_ASKED = frozenset({"enrolled"})
_TITLES = {
    "purchase": "Make a purchase",
    "review": "Write a review",
    "birthday": "Celebrate your birthday",
    "email_signup": "Join our mailing list",
    "visit": "Visit us",
    "referral": "Refer a friend",
}


def ways_to_earn(program: Program, tier_id: str, usage: Mapping[tuple[str, str], int], now: datetime) -> list[dict]:
    """``usage``: the member's counters, (counter id, period key) → used, as ``usage_counters`` names them."""
    clock = EventClock(now, program.timezone)
    multiplier = program.tier(tier_id).multiplier
    ways = []
    for rule in program.rules:
        if rule.on in _NOT_ASKED or (rule.window and rule.window.end and rule.window.end < clock.local.date()):
            continue
        if any(condition.field == "member.tier" and condition.failure(None, tier_id) is not None
               for condition in rule.conditions):  # a tier's own way to earn, not this member's
            continue
        way = _referral_way(rule, usage, clock) if rule.referral else _award_way(rule, multiplier, usage, clock)
        if way is not None:
            ways.append(way)
    return ways


def usage_counters(program: Program, now: datetime) -> list[tuple[str, str]]:
    """The counters ``ways_to_earn`` reads: those an event of each action would read now (``usage_keys``),
    the member's own and those it has as a referrer."""
    keys: dict[tuple[str, str], None] = {}
    for action in program.by_action:
        read = program.usage_keys(action, now)
        keys.update(dict.fromkeys(read.member + read.referrer))
    return list(keys)


def _award_way(rule: Rule, multiplier: Fraction, usage, clock: EventClock) -> dict | None:
    way = {"rule_id": rule.id, "action": rule.on, "title": _title(rule), "description": rule.description}
    factor = multiplier if rule.multiply_by_tier else 1
    if isinstance(rule.award, SpendAward):
        way["points_per_dollar"] = _number(rule.award.rate * factor)
    elif isinstance(rule.award, FixedAward):
        way["points"] = int(rule.award.points * factor)
    if rule.window:
        way["from"] = rule.window.start
        way["until"] = rule.window.end
    if rule.limit:
        left = rule.limit.count - usage.get((rule.counter, clock.key(rule.limit.per)), 0)
        if left <= 0 and rule.limit.per == "member":
            return None
        way.update(remaining=max(left, 0), limit=rule.limit.count, period=rule.limit.per)
    return way


def _referral_way(rule: Rule, usage, clock: EventClock) -> dict | None:
    referral = rule.referral
    way = {"rule_id": rule.id, "action": "referral", "title": _TITLES["referral"], "description": rule.description,
           "points": referral.referrer_points, "friend_points": referral.referred_points}
    limit = referral.referrer_limit
    if limit:
        left = limit.count - usage.get((rule.referrer_counter, clock.key(limit.per)), 0)
        if left <= 0 and limit.per == "member":
            return None
        way.update(remaining=max(left, 0), limit=limit.count, period=limit.per)
    return way


def _title(rule: Rule) -> str:
    """The action in a customer's words; a campaign (a rule with a window) by its own description."""
    if rule.window and rule.description:
        return rule.description
    award = rule.award
    if rule.on == "purchase" and isinstance(award, SpendAward) and award.of == "items":
        named = sorted(award.categories or ()) or sorted(award.skus or ())
        if named:
            return "Buy " + " or ".join(named)
    return _TITLES.get(rule.on) or rule.on.replace("_", " ").capitalize()


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)
