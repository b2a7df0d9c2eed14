"""One event against the compiled program: awards, explanation, counter increments."""

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import NamedTuple

from .cards import Stamp, stamp_cards
from .challenges import ChallengeStep, advance_challenges
from .explanation import Explanation
from .facts import EventFacts, MemberFacts
from .periods import EventClock, add_on_wall_clock
from .program import FixedAward, Program, Rule
from .streaks import StreakStep, advance_streaks

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
    stamps: tuple[Stamp, ...] = ()
    #: A line per card the purchase's items concern (rule_id: the card's), apart from the rules' lines
    card_explanation: tuple[Explanation, ...] = ()
    steps: tuple[ChallengeStep, ...] = ()
    challenge_explanation: tuple[Explanation, ...] = ()
    streak_steps: tuple[StreakStep, ...] = ()
    streak_explanation: tuple[Explanation, ...] = ()


_NOTHING = Evaluation((), (), ())


def evaluate(program: Program, event: EventFacts, member: MemberFacts) -> Evaluation:
    rules = program.by_action.get(event.type)
    cards = program.cards if event.type == "purchase" else ()
    challenges = [c for c in program.challenges if c.on == event.type] if program.challenges else ()
    streaks = [s for s in program.streaks if s.on == event.type] if program.streaks else ()
    if not rules and not cards and not challenges and not streaks:
        return _NOTHING
    run = _Run(program, event, member)
    for rule in rules or ():
        if rule.referral is None:
            run.earn(rule)
        else:
            run.refer(rule)
    stamps, card_lines = stamp_cards(cards, event, member.cards, run.clock.local.date())
    steps, challenge_lines = advance_challenges(challenges, event, member.challenges, run.clock)
    streak_steps, streak_lines = advance_streaks(streaks, event, member.streaks, run.clock.local.date())
    for done in (*stamps, *steps, *streak_steps):
        if done.completes and done.points:
            run.bonus(done[0], done.points)
    return Evaluation(
        tuple(run.awards),
        tuple(run.explanation),
        tuple(UsageIncrement(m, c, k, n) for (m, c, k), n in run.increments.items()),
        stamps,
        card_lines,
        steps,
        challenge_lines,
        streak_steps,
        streak_lines,
    )


def same_email(a: str | None, b: str | None) -> bool:
    a, b = (a or "").strip().casefold(), (b or "").strip().casefold()
    return bool(a) and a == b


class _Run:
    """The state of one evaluation: what earlier rules of this event gave."""

    __slots__ = ("awards", "cap_given", "clock", "event", "expiries", "explanation", "increments", "member",
                 "program", "tier", "tier_multiplies")

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

    def explain(self, rule: Rule, matched: bool, points: int, code: str, args: dict) -> None:
        self.explanation.append(Explanation(rule.id, matched, points, code, args))

    def count(self, member_id: str, counter: str, per: str, amount: int) -> None:
        key = (member_id, counter, self.clock.key(per))
        self.increments[key] = self.increments.get(key, 0) + amount

    def ineligible(self, rule: Rule) -> tuple[str, dict] | None:
        if rule.window is not None:
            failure = rule.window.failure(self.clock.local, self.program.timezone.key, self.event.type)
            if failure:
                return failure
        for condition in rule.conditions:
            failure = condition.failure(self.event, self.tier.id)
            if failure:
                return failure
        return None

    def limit_reached(self, rule: Rule) -> bool:
        limit = rule.limit
        if limit is None:
            return False
        return self.member.usage.get((rule.counter, self.clock.key(limit.per)), 0) >= limit.count

    def earn(self, rule: Rule) -> None:
        failure = self.ineligible(rule) or self.items_missing(rule)
        if failure:
            return self.explain(rule, False, 0, *failure)
        if self.limit_reached(rule):
            return self.explain(rule, True, 0, *_limit_reached(rule.limit))
        points, code, args = self.points(rule)
        if points > 0 and rule.caps:
            trims = self.apply_caps(rule, points)
            if trims:
                points = trims[-1]["awarded"]
                code, args = "cap_reached", {"award": code, **args, "caps": trims}
        if points > 0:
            self.give(rule, self.member.member_id, points)
            if rule.limit:
                self.count(self.member.member_id, rule.counter, rule.limit.per, 1)
            for cap in rule.caps:
                self.cap_given[cap.id] = self.cap_given.get(cap.id, 0) + points
                self.count(self.member.member_id, cap.counter, cap.per, points)
        self.explain(rule, True, points, code, args)

    def items_missing(self, rule: Rule) -> tuple[str, dict] | None:
        award = rule.award
        if isinstance(award, FixedAward) or award.of != "items":
            return None
        if any(award.matches(item) for item in self.event.items):
            return None
        if award.categories is None and award.skus is None:
            return "no_items", {}
        return "no_matching_items", {"categories": _sorted(award.categories), "skus": _sorted(award.skus)}

    def points(self, rule: Rule) -> tuple[int, str, dict]:
        """What the rule gives before caps, with the reason code and arguments that say how."""
        award = rule.award
        tier = self.tier
        multiplies = rule.multiply_by_tier and self.tier_multiplies
        if multiplies:
            multiplier, multiplier_text, tier_name = tier.multiplier, tier.multiplier_text, tier.name
        else:
            multiplier, multiplier_text, tier_name = ONE, None, None
        if isinstance(award, FixedAward):
            points = (
                award.points * multiplier.numerator // multiplier.denominator
                if multiplies
                else award.points
            )
            return points, "fixed", {
                "base_points": award.points, "multiplier": multiplier_text, "tier": tier_name, "points": points,
            }
        if award.of == "amount":
            base, categories, skus = self.event.amount or 0, None, None
        else:  # a purchase of amount 0 earns nothing, whatever its items say (demo-program.md)
            base = sum(i.quantity * i.unit_amount for i in self.event.items if award.matches(i)) \
                if self.event.amount != 0 else 0
            categories, skus = _sorted(award.categories), _sorted(award.skus)
        rate = award.rate
        points = (base * rate.numerator * multiplier.numerator) // (
            rate.denominator * multiplier.denominator * 100
        )
        return points, "rate", {
            "rate": award.rate_text, "of": award.of, "amount": base, "currency": self.program.currency,
            "categories": categories, "skus": skus, "multiplier": multiplier_text, "tier": tier_name,
            "points": points,
        }

    def apply_caps(self, rule: Rule, points: int) -> list[dict]:
        """Trim to what each cap has left; earlier rules of this event already used some.

        The caps that trimmed, in order; the last one's `awarded` is what is left to give.
        """
        trims = []
        for cap in rule.caps:
            used = self.member.usage.get(
                (cap.counter, self.clock.key(cap.per)), 0
            ) + self.cap_given.get(cap.id, 0)
            left = max(cap.max_points - used, 0)
            if points > left:
                trims.append({"cap": cap.id, "max_points": cap.max_points, "per": cap.per, "used": used,
                              "awarded": left, "of": points})
                points = left
        return trims

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

    def bonus(self, source_id: str, points: int) -> None:
        """Points a completed card, challenge or streak gives: neither spend-based nor tier-qualifying."""
        expiry = self.program.expiry
        self.awards.append(Award(source_id, self.member.member_id, points, "active", self.clock.occurred_at,
                                 expiry and expiry.expires_at(self.clock.local), False, False))

    def refer(self, rule: Rule) -> None:
        member, referral = self.member, rule.referral
        if not member.referred:
            return self.explain(rule, False, 0, "not_referred", {})
        failure = self.ineligible(rule)
        if failure:
            return self.explain(rule, False, 0, *failure)
        if self.limit_reached(rule):
            return self.explain(rule, True, 0, *_limit_reached(rule.limit))
        referrer = member.referrer
        if referral.block_shared_email and referrer and same_email(member.email, referrer.email):
            return self.explain(rule, False, 0, "shared_email", {})
        total = 0
        if referral.referred_points:
            self.give(rule, member.member_id, referral.referred_points)
            total += referral.referred_points
        outcome, referrer_limit = self.referrer_outcome(rule)
        if outcome == "awarded":
            self.give(rule, referrer.member_id, referral.referrer_points)
            total += referral.referrer_points
            if referral.referrer_limit:
                self.count(referrer.member_id, rule.referrer_counter, referral.referrer_limit.per, 1)
        if total and rule.limit:
            self.count(member.member_id, rule.counter, rule.limit.per, 1)
        self.explain(rule, True, total, "referral", {
            "referred_points": referral.referred_points,
            "referrer": None if referrer is None else referrer.member_id,
            "referrer_status": None if referrer is None else referrer.status,
            "referrer_outcome": outcome,
            "referrer_points": referral.referrer_points if outcome == "awarded" else 0,
            "referrer_limit": referrer_limit,
        })

    def referrer_outcome(self, rule: Rule) -> tuple[str, dict | None]:
        """What the referrer gets: missing, inactive, capped (with the cap), awarded or no_points."""
        referrer, limit = self.member.referrer, rule.referral.referrer_limit
        if referrer is None:
            return "missing", None
        if referrer.status != "active":
            return "inactive", None
        if limit and referrer.usage.get((rule.referrer_counter, self.clock.key(limit.per)), 0) >= limit.count:
            return "capped", {"count": limit.count, "per": limit.per}
        if rule.referral.referrer_points:
            return "awarded", None
        return "no_points", None


def _limit_reached(limit) -> tuple[str, dict]:
    return "limit_reached", {"count": limit.count, "per": limit.per}


def _sorted(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)
