"""Stamp cards: a stamp per qualifying purchase; N stamps complete the card.

The engine decides whether an event stamps a card and what the stamp does to
it, from the card's progress the caller read (``CardProgress``); the caller
keeps the stamps and the progress in the event's transaction.

A card's ``stamps`` is the count on the member's current card. A completed
card shows N until the next stamp starts a new card at 1; a refund can leave
a new card below zero (demo-program.md, "Stamp card").
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from .explanation import Explanation

STAMP_PERIODS = ("day", "visit")


@dataclass(frozen=True, slots=True)
class Card:
    """``reward_id`` or ``points``: what completing it gives; ``inactive_days``: the stamps of a
    card lapse when no stamp was added for that many program days; ``after_days``: each stamp of a
    card in progress lapses that many days after its own (None for both: they never expire)."""

    id: str
    name: str
    description: str
    stamps: int
    categories: frozenset[str] | None = None
    skus: frozenset[str] | None = None
    min_amount: int = 1
    per: str = "day"
    reward_id: str | None = None
    points: int | None = None
    inactive_days: int | None = None
    after_days: int | None = None

    def matches(self, item) -> bool:
        return (self.categories is None or item.category in self.categories) and (
            self.skus is None or item.sku in self.skus
        )

    @property
    def needs_items(self) -> bool:
        return self.categories is not None or self.skus is not None

    def lapsed(self, last_stamp_day: date | None, day: date) -> bool:
        """The card's stamps expired before ``day`` (the program's calendar)."""
        return (self.inactive_days is not None and last_stamp_day is not None
                and day - last_stamp_day > timedelta(days=self.inactive_days))

    def stamp_lapsed(self, stamp_day: date, day: date) -> bool:
        """A stamp given on ``stamp_day`` no longer counts on ``day`` (``after_days``)."""
        return self.after_days is not None and day - stamp_day > timedelta(days=self.after_days)

    def aged(self, stamp_day: date, last_stamp_day: date | None, day: date) -> bool:
        """A stamp lapsed after the card's last stamp and by ``day``: the count kept at the last stamp
        (which left out the stamps lapsed by then) still holds it."""
        return (last_stamp_day is not None and not self.stamp_lapsed(stamp_day, last_stamp_day)
                and self.stamp_lapsed(stamp_day, day))


@dataclass(frozen=True, slots=True)
class CardProgress:
    """A member's card as read before the event. ``stamped_that_day``: the card already holds an
    active stamp dated the event's program day; ``days``: the days of the current card's stamps
    (read for a card whose stamps lapse by age only)."""

    stamps: int = 0
    completed: int = 0
    last_stamp_day: date | None = None
    stamped_that_day: bool = False
    days: tuple[date, ...] = ()

    def shown(self, card: Card, today: date) -> int:
        """The stamps the member sees today: a lapsed card shows none, and stamps lapsed by age are off
        the count. A completed card shows all its stamps until the next one."""
        if self.stamps >= card.stamps:
            return self.stamps
        if card.lapsed(self.last_stamp_day, today):
            return 0
        return self.stamps - sum(card.aged(day, self.last_stamp_day, today) for day in self.days)


class Stamp(NamedTuple):
    """One stamp the event gives. ``stamps``: the card's count after it; ``completes``: it is the
    card's last, which issues ``reward_id`` or awards ``points``."""

    card_id: str
    day: date
    stamps: int
    of: int
    completes: bool
    reward_id: str | None
    points: int | None


_NEW_CARD = CardProgress()


def stamp_card(card: Card, event, progress: CardProgress, day: date) -> tuple[Stamp | None, str, dict]:
    """What ``event`` (a purchase on program ``day``) does to ``card``: the stamp or None, with the
    explanation's reason code and arguments."""
    about = {"card": card.name}
    if card.needs_items and not any(card.matches(item) for item in event.items):
        return None, "no_matching_items", {"categories": _sorted(card.categories), "skus": _sorted(card.skus)}
    if (event.amount or 0) < card.min_amount:
        return None, "stamp_min_amount", {**about, "min_amount": card.min_amount, "amount": event.amount or 0,
                                          "currency": event.currency}
    if card.per == "day" and progress.stamped_that_day:
        return None, "already_stamped", {**about, "per": card.per}
    current = progress.shown(card, day)
    stamps = 1 if current >= card.stamps else current + 1
    completes = stamps == card.stamps
    stamp = Stamp(card.id, day, stamps, card.stamps, completes, card.reward_id, card.points)
    args = {**about, "stamp": stamps, "of": card.stamps}
    if completes:
        return stamp, "card_completed", {**args, "reward": card.reward_id, "points": card.points}
    return stamp, "stamp", args


def stamp_cards(cards, event, progress: dict, day: date) -> tuple[tuple[Stamp, ...], tuple]:
    """Each card's stamp for this purchase and the cards' explanation lines (none for a card whose
    items the purchase does not hold)."""
    stamps, lines = [], []
    for card in cards:
        stamp, code, args = stamp_card(card, event, progress.get(card.id, _NEW_CARD), day)
        if stamp is not None:
            stamps.append(stamp)
        if code != "no_matching_items":
            points = card.points if stamp is not None and stamp.completes and card.points else 0
            lines.append(Explanation(card.id, stamp is not None, points, code, args))
    return tuple(stamps), tuple(lines)


def taken_back(card: Card, progress_stamps: int, completion_unused: bool) -> tuple[int, bool]:
    """The card's count after a refund takes one stamp back, and whether the current card's
    completion is undone (its unused code voided, or its points reversed).

    A completed card whose reward is unused goes back to N-1 and the completion is undone; one
    whose code was used starts the new card at -1; a card in progress loses one stamp.
    """
    if progress_stamps >= card.stamps:
        if completion_unused:
            return card.stamps - 1, True
        return -1, False
    return progress_stamps - 1, False


def _sorted(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)
