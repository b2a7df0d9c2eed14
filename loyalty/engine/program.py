"""The compiled program: immutable, built once by the loader, read by evaluate."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from .catalog import catalog
from .conditions import Condition
from .expiry import Expiry
from .periods import DAY_NAMES, EventClock, local_time


@dataclass(frozen=True, slots=True)
class Tier:
    id: str
    name: str
    qualifying_points: int
    multiplier: Fraction
    multiplier_text: str = field(default="1", compare=False)
    #: A badge reaching this tier gives, once ever.
    badge_id: str | None = None


@dataclass(frozen=True, slots=True)
class Limit:
    count: int
    per: str


@dataclass(frozen=True, slots=True)
class Window:
    """Dates inclusive, on the program's calendar; days_of_week 0 = Monday."""

    start: date | None = None
    end: date | None = None
    days_of_week: frozenset[int] | None = None
    # as a failure's arguments say them, once: a window rule fails on most days of the year
    start_text: str | None = field(init=False, compare=False, repr=False)
    end_text: str | None = field(init=False, compare=False, repr=False)
    day_names: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "start_text", None if self.start is None else self.start.isoformat())
        object.__setattr__(self, "end_text", None if self.end is None else self.end.isoformat())
        object.__setattr__(self, "day_names", tuple(DAY_NAMES[d] for d in sorted(self.days_of_week or ())))

    def failure(self, local: datetime, timezone: str, event_type: str) -> tuple[str, dict] | None:
        """None when `local` is inside the window, else why not: its reason code and arguments."""
        day = local.date()
        if (self.start and day < self.start) or (self.end and day > self.end):
            return "outside_window", {
                "start": self.start_text,
                "end": self.end_text,
                "timezone": timezone,
                "event_type": event_type,
                "day": day.isoformat(),
            }
        if self.days_of_week is not None and day.weekday() not in self.days_of_week:
            return "wrong_weekday", {
                "days": list(self.day_names),
                "timezone": timezone,
                "event_type": event_type,
                "day": day.isoformat(),
            }
        return None


@dataclass(frozen=True, slots=True)
class FixedAward:
    points: int


@dataclass(frozen=True, slots=True)
class SpendAward:
    """`rate` points per whole currency unit of the amount or of matching items."""

    rate: Fraction
    rate_text: str
    of: str = "amount"
    categories: frozenset[str] | None = None
    skus: frozenset[str] | None = None

    def matches(self, item) -> bool:
        return (self.categories is None or item.category in self.categories) and (
            self.skus is None or item.sku in self.skus
        )


@dataclass(frozen=True, slots=True)
class Referral:
    referrer_points: int
    referred_points: int
    referrer_limit: Limit | None = None
    block_shared_email: bool = False


@dataclass(frozen=True, slots=True)
class Cap:
    id: str
    description: str
    rules: tuple[str, ...]
    max_points: int
    per: str

    @property
    def counter(self) -> str:
        return f"cap:{self.id}"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    on: str
    award: FixedAward | SpendAward | None = None
    referral: Referral | None = None
    multiply_by_tier: bool = False
    conditions: tuple[Condition, ...] = ()
    window: Window | None = None
    limit: Limit | None = None
    pending_days: int = 0
    expiry: Expiry | None = None
    caps: tuple[Cap, ...] = ()

    @property
    def spend_based(self) -> bool:
        """Purchase rules: reversible by refunds and tier-qualifying."""
        return isinstance(self.award, SpendAward)

    @property
    def counter(self) -> str:
        return f"rule:{self.id}"

    @property
    def referrer_counter(self) -> str:
        return f"referrer:{self.id}"


@dataclass(frozen=True, slots=True)
class UsageKeys:
    """(counter_id, period_key) pairs to read before evaluating one event."""

    member: tuple[tuple[str, str], ...]
    referrer: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    """Whether members may give each other points (``transfers:`` in the YAML), and within what."""

    enabled: bool = False
    min_points: int = 1
    max_points_per_month: int | None = None


@dataclass(frozen=True)
class Program:
    name: str
    currency: str
    point_value: int
    timezone: ZoneInfo
    source_hash: str
    rules: tuple[Rule, ...]
    tiers: tuple[Tier, ...]
    caps: tuple[Cap, ...] = ()
    expiry: Expiry | None = None
    qualifying_window: timedelta = timedelta(days=365)
    tier_hold: timedelta = timedelta(days=365)
    repeat_within_days: int = 90
    lapsed_after_days: int = 180
    rewards: tuple = ()
    transfers: TransferPolicy = TransferPolicy()
    cards: tuple = ()
    badges: tuple = ()
    challenges: tuple = ()
    streaks: tuple = ()
    by_action: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        by_action: dict[str, list[Rule]] = {}
        for rule in self.rules:
            by_action.setdefault(rule.on, []).append(rule)
        object.__setattr__(self, "by_action", {k: tuple(v) for k, v in by_action.items()})
        object.__setattr__(self, "_rules_by_id", {rule.id: rule for rule in self.rules})
        object.__setattr__(self, "_tiers_by_id", {tier.id: tier for tier in self.tiers})
        object.__setattr__(self, "_rewards_by_id", {reward.id: reward for reward in self.rewards})

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(self.by_action) | {"purchase"} | {c.on for c in self.challenges} | {s.on for s in self.streaks}

    @property
    def base_tier(self) -> Tier:
        return self.tiers[0]

    def rule(self, rule_id: str) -> Rule:
        return self._rules_by_id[rule_id]

    def reward(self, reward_id: str):
        """The catalog's reward with that id, or None."""
        return self._rewards_by_id.get(reward_id)

    def card(self, card_id: str):
        """The card with that id, or None."""
        return next((card for card in self.cards if card.id == card_id), None)

    def challenge(self, challenge_id: str):
        return next((c for c in self.challenges if c.id == challenge_id), None)

    def streak(self, streak_id: str):
        return next((s for s in self.streaks if s.id == streak_id), None)

    def progress_items(self) -> tuple:
        """The cards, challenges and streaks: what may award points apart from the rules."""
        return (*self.cards, *self.challenges, *self.streaks)

    def badge(self, badge_id: str):
        return next((b for b in self.badges if b.id == badge_id), None)

    def tier(self, tier_id: str) -> Tier:
        return self._tiers_by_id[tier_id]

    @property
    def tier_names(self) -> dict[str, str]:
        return {tier.id: tier.name for tier in self.tiers}

    def tier_for_points(self, qualifying_points: int) -> Tier:
        reached = self.tiers[0]
        for tier in self.tiers:
            if tier.qualifying_points <= qualifying_points:
                reached = tier
        return reached

    def next_tier(self, tier_id: str) -> Tier | None:
        index = self.tiers.index(self.tier(tier_id))
        return self.tiers[index + 1] if index + 1 < len(self.tiers) else None

    def expires_at(self, occurred_at: datetime, rule_id: str | None = None) -> datetime | None:
        """When a lot earned at `occurred_at` expires; None if it never does."""
        expiry = self.rule(rule_id).expiry if rule_id else self.expiry
        if expiry is None:
            return None
        return expiry.expires_at(local_time(occurred_at, self.timezone))

    def usage_keys(self, event_type: str, occurred_at: datetime) -> UsageKeys:
        clock = EventClock(occurred_at, self.timezone)
        member: dict[tuple[str, str], None] = {}
        referrer: dict[tuple[str, str], None] = {}
        for rule in self.by_action.get(event_type, ()):
            if rule.limit:
                member[(rule.counter, clock.key(rule.limit.per))] = None
            for cap in rule.caps:
                member[(cap.counter, clock.key(cap.per))] = None
            if rule.referral and rule.referral.referrer_limit:
                per = rule.referral.referrer_limit.per
                referrer[(rule.referrer_counter, clock.key(per))] = None
        return UsageKeys(member=tuple(member), referrer=tuple(referrer))

    def catalog(self) -> dict:
        return catalog(self)
