"""Challenges and badges: a goal reached within a window of time, awarding points or a badge.

    badges:
      - {id: explorer, name: Explorer, image: https://example.com/explorer.png}
    challenges:
      - id: three-kinds
        name: Three kinds this month
        on: purchase
        goal: {distinct_categories: 3}   # or {count: 5}, or {amount: 5000} (minor units)
        within: calendar_month           # day, week, calendar_month, calendar_year, or {days: 30}
        award: {badge: explorer}         # or {points: 100}
        repeat: false                    # true: once per period (or again after each completion)

The engine decides from the progress the caller read (``ChallengeProgress``);
the caller keeps each event's contribution, so a refund can take it back.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from .explanation import Explanation
from .periods import period_key

GOALS = ("count", "amount", "distinct_categories")
ONCE = "once"


@dataclass(frozen=True, slots=True)
class Badge:
    id: str
    name: str
    image: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Challenge:
    """``per``: a calendar period of PERIODS, or None with ``days``: a rolling window of that many
    program days ending on the event's."""

    id: str
    name: str
    description: str
    on: str
    goal: str
    target: int
    per: str | None = None
    days: int | None = None
    categories: frozenset[str] | None = None
    skus: frozenset[str] | None = None
    points: int | None = None
    badge_id: str | None = None
    repeat: bool = False

    def matching_items(self, event) -> list:
        return [item for item in event.items
                if (self.categories is None or item.category in self.categories)
                and (self.skus is None or item.sku in self.skus)]


@dataclass(frozen=True, slots=True)
class ChallengeProgress:
    """What the member's entries in the challenge's current window add up to, and whether it is done
    (``done``: completed in this period, or ever for a challenge that does not repeat)."""

    count: int = 0
    amount: int = 0
    categories: frozenset[str] = field(default_factory=frozenset)
    done: bool = False

    def value(self, goal: str) -> int:
        return {"count": self.count, "amount": self.amount, "distinct_categories": len(self.categories)}[goal]


class ChallengeStep(NamedTuple):
    """What one event adds to a challenge; ``completes``: it reaches the target."""

    challenge_id: str
    period_key: str
    amount: int
    categories: tuple[str, ...]
    value: int
    target: int
    completes: bool
    points: int | None
    badge_id: str | None


def advance(challenge: Challenge, event, progress: ChallengeProgress, period_key: str
            ) -> tuple[ChallengeStep | None, str, dict]:
    """The event's step on ``challenge`` (or None), with the reason code and arguments."""
    about = {"challenge": challenge.name, "goal": challenge.goal, "of": challenge.target, "on": challenge.on,
             "per": challenge.per, "days": challenge.days, "repeat": challenge.repeat,
             "currency": event.currency if challenge.goal == "amount" else None}
    if progress.done:
        return None, "challenge_done", about
    items = challenge.matching_items(event) if event.type == "purchase" else []
    if event.type == "purchase" and (challenge.categories or challenge.skus) and not items:
        return None, "no_matching_items", {"categories": _sorted(challenge.categories),
                                           "skus": _sorted(challenge.skus)}
    if event.type == "purchase" and not (event.amount or 0):
        return None, "challenge_min_amount", about
    if challenge.categories or challenge.skus:
        amount = sum(item.quantity * item.unit_amount for item in items)
    else:
        amount = event.amount or 0
    categories = tuple(sorted({item.category for item in (items or event.items) if item.category}))
    after = ChallengeProgress(progress.count + 1, progress.amount + amount,
                              progress.categories | frozenset(categories))
    value = after.value(challenge.goal)
    if challenge.goal == "distinct_categories" and value == len(progress.categories):
        return None, "challenge_no_new_category", {**about, "n": value}
    completes = value >= challenge.target
    step = ChallengeStep(challenge.id, period_key, amount, categories, min(value, challenge.target),
                         challenge.target, completes, challenge.points, challenge.badge_id)
    return step, "challenge_completed" if completes else "challenge_progress", {
        **about, "n": min(value, challenge.target), "badge": challenge.badge_id, "points": challenge.points}


class Entry(NamedTuple):
    """What one event added to a challenge, as kept."""

    day: date
    period_key: str
    amount: int
    categories: tuple[str, ...]


def window_key(challenge: Challenge, local: datetime) -> str:
    """The period an entry on ``local`` counts in: a calendar period's key, or its day (rolling window)."""
    return period_key(challenge.per, local) if challenge.per else local.date().isoformat()


def completion_key(challenge: Challenge, local: datetime) -> str:
    """One completion per member and key: ever, once a period, or once a day (rolling window)."""
    return window_key(challenge, local) if challenge.repeat else ONCE


def progress_of(challenge: Challenge, entries, completion_keys: set[str], local: datetime) -> ChallengeProgress:
    """The progress ``entries`` make in the challenge's window holding ``local``: its calendar period,
    or its last ``days`` days since the last completion."""
    if challenge.per:
        key = period_key(challenge.per, local)
        counted = [e for e in entries if e.period_key == key]
    else:
        first = local.date() - timedelta(days=challenge.days - 1)
        done_days = [date.fromisoformat(k) for k in completion_keys if k != ONCE]
        if done_days:
            first = max(first, max(done_days) + timedelta(days=1))
        counted = [e for e in entries if first <= e.day <= local.date()]
    categories = frozenset(c for e in counted for c in (e.categories or ()))
    return ChallengeProgress(len(counted), sum(e.amount for e in counted), categories,
                             completion_key(challenge, local) in completion_keys)


_NO_PROGRESS = ChallengeProgress()


def advance_challenges(challenges, event, progress: dict, clock) -> tuple[tuple[ChallengeStep, ...], tuple]:
    """Each listening challenge's step for this event and the challenges' explanation lines."""
    steps, lines = [], []
    for challenge in challenges:
        key = clock.key(challenge.per) if challenge.per else clock.local.date().isoformat()
        step, code, args = advance(challenge, event, progress.get(challenge.id, _NO_PROGRESS), key)
        if step is not None:
            steps.append(step)
        if code != "no_matching_items":
            points = step.points if step is not None and step.completes and step.points else 0
            lines.append(Explanation(challenge.id, step is not None, points, code, args))
    return tuple(steps), tuple(lines)


def _sorted(values):
    return None if values is None else sorted(values)
