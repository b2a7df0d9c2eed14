"""Streaks: a qualifying event in each of a number of consecutive periods (days, weeks, months).

    streaks:
      - id: weekly-regular
        name: Weekly regular
        where: {category: coffee}   # purchases only; min_amount: 1 (minor units)
        period: week                # day | week | calendar_month (the program's calendar)
        length: 3                   # consecutive periods that complete it
        grace: 1                    # missed periods tolerated (they do not count toward length)
        award: {points: 50}         # or {badge: regular}
        repeat: true                # each further `length` periods award again

The engine decides from the member's ``StreakState`` as the caller read it and
the event's program day; the caller keeps the state and each event's entry.
A period is named by the date it starts on.
"""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import NamedTuple

from .explanation import Explanation

STREAK_PERIODS = ("day", "week", "calendar_month")


@dataclass(frozen=True, slots=True)
class Streak:
    id: str
    name: str
    description: str
    on: str
    period: str
    length: int
    grace: int = 0
    categories: frozenset[str] | None = None
    skus: frozenset[str] | None = None
    min_amount: int = 1
    points: int | None = None
    badge_id: str | None = None
    repeat: bool = False

    def qualifies(self, event) -> tuple[str, dict] | None:
        """Why a purchase does not count (reason code, arguments), or None when it does."""
        if event.type != "purchase":
            return None
        if self.categories is not None or self.skus is not None:
            if not any((self.categories is None or item.category in self.categories)
                       and (self.skus is None or item.sku in self.skus) for item in event.items):
                return "no_matching_items", {"categories": _sorted(self.categories), "skus": _sorted(self.skus)}
        if (event.amount or 0) < self.min_amount:
            return "streak_min_amount", {"streak": self.name, "amount": event.amount or 0,
                                         "min_amount": self.min_amount, "currency": event.currency}
        return None

    def completed_for_good(self, state: "StreakState") -> bool:
        return bool(state.completed) and not self.repeat


@dataclass(frozen=True, slots=True)
class StreakState:
    """``current``: periods counted toward the next completion (``length`` right after one, until the
    next period starts the count again); ``run``: consecutive periods counted, grace aside;
    ``last_period``: the start of the last period counted."""

    current: int = 0
    run: int = 0
    best: int = 0
    completed: int = 0
    last_period: date | None = None


class StreakStep(NamedTuple):
    """What an event does to a streak. ``gives``: it counts a new period (else the period already
    counts, and the event is kept in case a refund takes the first one back); ``before``: the state it
    replaces (a refund of the period's only event restores it)."""

    streak_id: str
    period: date
    current: int
    length: int
    completes: bool
    points: int | None
    badge_id: str | None
    before: StreakState
    after: StreakState
    gives: bool = True


def period_start(period: str, day: date) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "calendar_month":
        return day.replace(day=1)
    raise ValueError(f"unknown streak period {period!r}")


def period_index(period: str, day: date) -> int:
    """Consecutive periods have consecutive indexes."""
    start = period_start(period, day)
    if period == "calendar_month":
        return start.year * 12 + start.month - 1
    return (start.toordinal() - 1) // 7 if period == "week" else start.toordinal()


def period_from_index(period: str, index: int) -> date:
    if period == "calendar_month":
        return date(index // 12, index % 12 + 1, 1)
    return date.fromordinal(index * 7 + 1 if period == "week" else index)


def ends_after(streak: Streak, state: StreakState) -> date | None:
    """The last day a qualifying event keeps the streak going, or None when nothing is going."""
    if state.last_period is None or state.run == 0 or (state.completed and not streak.repeat):
        return None
    next_start = period_from_index(streak.period, period_index(streak.period, state.last_period) + streak.grace + 2)
    return next_start - timedelta(days=1)


def standing(streak: Streak, state: StreakState, day: date) -> StreakState:
    """The state as the member sees it on ``day``: a streak whose deadline passed is broken."""
    deadline = ends_after(streak, state)
    if deadline is not None and day > deadline:
        return replace(state, current=0, run=0)
    return state


def count_period(streak: Streak, state: StreakState, period: date) -> StreakState:
    """The state once ``period`` (a period's start, after the last counted) counts: the run goes on
    when at most ``grace`` periods were missed, else starts again at 1."""
    missed = None if state.last_period is None else (
        period_index(streak.period, period) - period_index(streak.period, state.last_period) - 1)
    going = missed is not None and missed <= streak.grace and state.run > 0
    current = state.current % streak.length + 1 if going else 1
    run = state.run + 1 if going else 1
    return StreakState(current, run, max(state.best, run), state.completed + (current == streak.length), period)


def replayed(streak: Streak, state: StreakState, day: date) -> StreakState:
    """The state after a qualifying event on ``day`` (for replays of events already found to qualify)."""
    if streak.completed_for_good(state):
        return state
    period = period_start(streak.period, day)
    return state if state.last_period is not None and period <= state.last_period else \
        count_period(streak, state, period)


def advance_streak(streak: Streak, state: StreakState, event, day: date) -> tuple[StreakStep | None, str, dict]:
    """What ``event`` on program ``day`` does to ``streak``: the step or None, with the reason."""
    about = {"streak": streak.name, "period": streak.period, "of": streak.length}
    refused = streak.qualifies(event)
    if refused is not None:
        return None, *refused
    if streak.completed_for_good(state):
        return None, "streak_done", about
    period = period_start(streak.period, day)
    if state.last_period is not None and period < state.last_period:
        return None, "streak_earlier", about
    if period == state.last_period:
        return StreakStep(streak.id, period, state.current, streak.length, False, None, None, state, state,
                          gives=False), "streak_counted", about
    after = count_period(streak, state, period)
    completes = after.completed > state.completed
    step = StreakStep(streak.id, period, after.current, streak.length, completes, streak.points, streak.badge_id,
                      state, after)
    args = {**about, "n": after.current}
    if completes:
        return step, "streak_completed", {**args, "points": streak.points, "badge": streak.badge_id}
    return step, "streak_progress", args


_NO_STATE = StreakState()


def advance_streaks(streaks, event, states: dict, day: date) -> tuple[tuple[StreakStep, ...], tuple]:
    """Each listening streak's step for this event and the streaks' explanation lines."""
    steps, lines = [], []
    for streak in streaks:
        step, code, args = advance_streak(streak, states.get(streak.id, _NO_STATE), event, day)
        if step is not None:
            steps.append(step)
        if code != "no_matching_items":
            points = step.points if step is not None and step.completes and step.points else 0
            lines.append(Explanation(streak.id, step is not None and step.gives, points, code, args))
    return tuple(steps), tuple(lines)


def _sorted(values):
    return None if values is None else sorted(values)
