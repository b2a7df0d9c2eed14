"""One event against the compiled program: awards, explanation, counter increments."""

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import NamedTuple

from . import reasons
from .facts import EventFacts, MemberFacts
from .periods import EventClock, add_on_wall_clock
from .program import FixedAward, Program, Rule

ONE = Fraction(1)


# Award, Explanation and UsageIncrement are named tuples: an accrual makes a dozen, and a frozen
# dataclass's __init__ (one object.__setattr__ per field) cost a tenth of an evaluation.


class Award(NamedTuple):
    rule_id: str
    member_id: str
    points: int
    status: str  # "active" | "pending"
    available_at: datetime
    expires_at: datetime | None  # None only if the program says `after: never`
    spend_based: bool
    tier_qualifying: bool


class Explanation(NamedTuple):
    """`points`: everything the rule awarded for this event (a referral's
    includes the referrer's); `matched`: its window and conditions held."""

    rule_id: str
    matched: bool
    points: int
    reason: str

    def as_dict(self) -> dict:
        return {
            "rule_id": self.rule_id,
            "matched": self.matched,
            "points": self.points,
            "reason": self.reason,
        }


class UsageIncrement(NamedTuple):
    member_id: str
    counter_id: str
    period_key: str
    amount: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    awards: tuple[Award, ...]
    explanation: tuple[Explanation, ...]
    usage: tuple[UsageIncrement, ...]


_NOTHING = Evaluation((), (), ())


def evaluate(program: Program, event: EventFacts, member: MemberFacts) -> Evaluation:
    rules = program.by_action.get(event.type)
    if not rules:
        return _NOTHING
    run = _Run(program, event, member)
    for rule in rules:
        if rule.referral is None:
            run.earn(rule)
        else:
            run.refer(rule)
    return Evaluation(
        tuple(run.awards),
        tuple(run.explanation),
        tuple(UsageIncrement(m, c, k, n) for (m, c, k), n in run.increments.items()),
    )


def same_email(a: str | None, b: str | None) -> bool:
    a, b = (a or "").strip().casefold(), (b or "").strip().casefold()
    return bool(a) and a == b


class _Run:
    """The state of one evaluation: what earlier rules of this event gave."""

    __slots__ = (
        "awards",
        "cap_given",
        "clock",
        "event",
        "expiries",
        "explanation",
        "increments",
        "member",
        "program",
        "tier",
        "tier_multiplies",
    )

    def __init__(self, program: Program, event: EventFacts, member: MemberFacts):
        self.program = program
        self.event = event
        self.member = member
        self.clock = EventClock(event.occurred_at, program.timezone)
        self.tier = program._tiers_by_id.get(member.tier_id) or program.base_tier
        self.tier_multiplies = self.tier.multiplier != 1  # once: comparing Fractions is slow
        self.awards = []
        self.explanation = []
        self.increments = {}
        self.cap_given = {}
        self.expiries = {}

    def explain(self, rule: Rule, matched: bool, points: int, reason: str) -> None:
        self.explanation.append(Explanation(rule.id, matched, points, reason))

    def count(self, member_id: str, counter: str, per: str, amount: int) -> None:
        key = (member_id, counter, self.clock.key(per))
        self.increments[key] = self.increments.get(key, 0) + amount

    def ineligible(self, rule: Rule) -> str | None:
        if rule.window is not None:
            reason = rule.window.failure(
                self.clock.local, self.program.timezone.key, self.event.type
            )
            if reason:
                return reason
        for condition in rule.conditions:
            reason = condition.failure(self.event, self.tier.id)
            if reason:
                return reason
        return None

    def limit_reached(self, rule: Rule) -> bool:
        limit = rule.limit
        if limit is None:
            return False
        return self.member.usage.get((rule.counter, self.clock.key(limit.per)), 0) >= limit.count

    def earn(self, rule: Rule) -> None:
        reason = self.ineligible(rule)
        if reason is None:
            reason = self.items_missing(rule)
        if reason:
            return self.explain(rule, False, 0, reason)
        if self.limit_reached(rule):
            return self.explain(rule, True, 0, reasons.limit(rule.limit.count, rule.limit.per))
        points, reason = self.points(rule)
        if points > 0 and rule.caps:
            points, capped = self.apply_caps(rule, points)
            if capped:
                reason = f"{reason}. {capped}"
        if points > 0:
            self.give(rule, self.member.member_id, points)
            if rule.limit:
                self.count(self.member.member_id, rule.counter, rule.limit.per, 1)
            for cap in rule.caps:
                self.cap_given[cap.id] = self.cap_given.get(cap.id, 0) + points
                self.count(self.member.member_id, cap.counter, cap.per, points)
        self.explain(rule, True, points, reason)

    def items_missing(self, rule: Rule) -> str | None:
        award = rule.award
        if isinstance(award, FixedAward) or award.of != "items":
            return None
        if any(award.matches(item) for item in self.event.items):
            return None
        wanted = _item_filter(award)
        return f"No items {wanted}" if wanted else "No items in this purchase"

    def points(self, rule: Rule) -> tuple[int, str]:
        award = rule.award
        tier = self.tier
        multiplies = rule.multiply_by_tier and self.tier_multiplies
        multiplier = tier.multiplier if multiplies else ONE
        by_tier = f" × {tier.multiplier_text} {tier.name} multiplier" if multiplies else ""
        currency = self.program.currency
        if isinstance(award, FixedAward):
            points = (
                award.points * multiplier.numerator // multiplier.denominator
                if by_tier
                else award.points
            )
            base = reasons.points(award.points)
            return points, f"{base}{by_tier} = {reasons.points(points)}" if by_tier else base
        if award.of == "amount":
            base = self.event.amount or 0
            on = reasons.money(base, currency)
        else:
            base = sum(i.quantity * i.unit_amount for i in self.event.items if award.matches(i))
            on = f"{reasons.money(base, currency)} of {_items_named(award)}"
        rate = award.rate
        points = (base * rate.numerator * multiplier.numerator) // (
            rate.denominator * multiplier.denominator * 100
        )
        per = "point" if rate == 1 else "points"
        return points, (
            f"{award.rate_text} {per} per {reasons.unit(currency)} on {on}{by_tier}"
            f" = {reasons.points(points)}"
        )

    def apply_caps(self, rule: Rule, points: int) -> tuple[int, str]:
        """Trim to what each cap has left; earlier rules of this event already used some."""
        said = []
        for cap in rule.caps:
            used = self.member.usage.get(
                (cap.counter, self.clock.key(cap.per)), 0
            ) + self.cap_given.get(cap.id, 0)
            left = max(cap.max_points - used, 0)
            if points > left:
                adjective, when = reasons.PERIOD_WORDS[cap.per]
                said.append(
                    f"{adjective} cap of {cap.max_points:,} points for {cap.id} reached: "
                    f"{used:,} already earned {when}, {left:,} awarded of {points:,}"
                )
                points = left
        return points, ". ".join(said)

    def give(self, rule: Rule, member_id: str, points: int) -> None:
        expiry = rule.expiry
        if expiry is None:
            expires_at = None
        elif id(expiry) in self.expiries:  # by identity: hashing the policy costs more than the lookup saves
            expires_at = self.expiries[id(expiry)]
        else:
            expires_at = self.expiries[id(expiry)] = expiry.expires_at(self.clock.local)
        if rule.pending_days:
            status, available_at = (
                "pending",
                add_on_wall_clock(self.clock.local, days=rule.pending_days),
            )
        else:
            status, available_at = "active", self.clock.occurred_at
        spend = rule.spend_based
        self.awards.append(
            Award(rule.id, member_id, points, status, available_at, expires_at, spend, spend)
        )

    def refer(self, rule: Rule) -> None:
        member, referral = self.member, rule.referral
        if not member.referred:
            return self.explain(rule, False, 0, "Member did not enrol with a referral code")
        reason = self.ineligible(rule)
        if reason:
            return self.explain(rule, False, 0, reason)
        if self.limit_reached(rule):
            return self.explain(rule, True, 0, reasons.limit(rule.limit.count, rule.limit.per))
        referrer = member.referrer
        if referral.block_shared_email and referrer and same_email(member.email, referrer.email):
            return self.explain(rule, False, 0, "Referrer and member share an email address")
        said, total = [], 0
        if referral.referred_points:
            self.give(rule, member.member_id, referral.referred_points)
            said.append(f"{reasons.points(referral.referred_points)} for this member")
            total += referral.referred_points
        limit = referral.referrer_limit
        if referrer is None:
            said.append("no referrer on record, so no referrer points")
        elif referrer.status != "active":
            said.append(
                f"the referrer's account is {referrer.status}, so the referrer gets nothing"
            )
        elif (
            limit
            and referrer.usage.get((rule.referrer_counter, self.clock.key(limit.per)), 0)
            >= limit.count
        ):
            said.append(
                f"the referrer's cap of {limit.count:,} referrals {reasons.LIMIT_WORDS[limit.per]} "
                "is reached, so the referrer gets nothing"
            )
        elif referral.referrer_points:
            self.give(rule, referrer.member_id, referral.referrer_points)
            said.append(
                f"{reasons.points(referral.referrer_points)} for the referrer {referrer.member_id}"
            )
            total += referral.referrer_points
            if limit:
                self.count(referrer.member_id, rule.referrer_counter, limit.per, 1)
        if total and rule.limit:
            self.count(member.member_id, rule.counter, rule.limit.per, 1)
        reason = "; ".join(said) if said else "Nothing to award"
        self.explain(rule, True, total, reason[0].upper() + reason[1:])


def _item_filter(award) -> str:
    parts = []
    if award.categories is not None:
        parts.append("in category " + " or ".join(sorted(award.categories)))
    if award.skus is not None:
        parts.append("with sku " + " or ".join(sorted(award.skus)))
    return " ".join(parts)


def _items_named(award) -> str:
    if award.skus is None and award.categories is not None:
        return " or ".join(sorted(award.categories)) + " items"
    wanted = _item_filter(award)
    return f"items {wanted}" if wanted else "items"
