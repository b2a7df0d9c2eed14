"""What the caller tells the engine about an event and the member: plain data."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

_EMPTY = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Item:
    sku: str | None
    category: str | None
    quantity: int
    unit_amount: int


@dataclass(frozen=True, slots=True)
class EventFacts:
    type: str
    occurred_at: datetime
    amount: int | None = None
    currency: str | None = None
    store_id: str | None = None
    channel: str | None = None
    items: tuple[Item, ...] = ()
    attributes: Mapping = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class ReferrerFacts:
    member_id: str
    email: str | None
    status: str
    usage: Mapping[tuple[str, str], int] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """`usage`: (counter_id, period_key) → already used (award count for a
    rule limit, points for a cap), as read for Program.usage_keys()."""

    member_id: str
    tier_id: str
    email: str | None = None
    referred: bool = False
    referrer: ReferrerFacts | None = None
    usage: Mapping[tuple[str, str], int] = field(default_factory=lambda: _EMPTY)
    #: card id → CardProgress, as read for the event's program day (a card not there is new)
    cards: Mapping = field(default_factory=lambda: _EMPTY)
    #: challenge id → ChallengeProgress in its window before the event
    challenges: Mapping = field(default_factory=lambda: _EMPTY)
    #: streak id → StreakState before the event (a streak not there has none)
    streaks: Mapping = field(default_factory=lambda: _EMPTY)
