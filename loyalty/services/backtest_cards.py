"""Stamp cards in a backtest: each member's cards at the window's start, the replay's stamps, the report.

A card starts the window as the stamps standing before it left it (the
last one's count, the completions among them); the replay then stamps as
the candidate's cards would, one a program day for a once-a-day card.
"""

from collections import Counter
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.engine import Program
from loyalty.engine.cards import CardProgress
from loyalty.models import CardStamp, Event

PURCHASE = "purchase"


def history(session: Session, members: dict, involved_ids, start: datetime) -> None:
    """Each member's cards as the stamps standing before ``start`` left them."""
    rows = session.execute(
        select(CardStamp.member_id, CardStamp.card_id, CardStamp.stamp, CardStamp.completes, CardStamp.day)
        .join(Event, CardStamp.event_id == Event.id)
        .where(Event.occurred_at < start, CardStamp.status == "active", CardStamp.member_id.in_(involved_ids))
        .order_by(CardStamp.id))
    for member_id, card_id, stamp, completes, day in rows:
        member = members[member_id]
        before = member.cards.get(card_id, CardProgress())
        member.cards[card_id] = CardProgress(stamp, before.completed + bool(completes), day,
                                             days=() if completes else (*before.days, day))
        member.stamp_days.add((card_id, day))


def actual(session: Session, window) -> Counter:
    """(card id, "stamps" | "completed") → what the window's events actually gave."""
    found: Counter = Counter()
    for card_id, completes, count in session.execute(
        select(CardStamp.card_id, CardStamp.completes, func.count()).join(Event, CardStamp.event_id == Event.id)
        .where(*window).group_by(CardStamp.card_id, CardStamp.completes)
    ):
        found[(card_id, "stamps")] += int(count)
        if completes:
            found[(card_id, "completed")] += int(count)
    return found


def progress(program: Program, member, event_type: str, day: date) -> dict:
    """The engine's view of the member's cards for an event on program ``day``."""
    if event_type != PURCHASE or not program.cards:
        return {}
    return {card.id: replace(member.cards.get(card.id, CardProgress()),
                             stamped_that_day=(card.id, day) in member.stamp_days)
            for card in program.cards}


def stamp(member, stamps, counted: Counter) -> None:
    """Put the replay's ``stamps`` on the member's cards, and count them."""
    for given in stamps:
        before = member.cards.get(given.card_id, CardProgress())
        member.cards[given.card_id] = CardProgress(given.stamps, before.completed + given.completes, given.day,
                                                   days=() if given.completes else (*before.days, given.day))
        member.stamp_days.add((given.card_id, given.day))
        counted[(given.card_id, "stamps")] += 1
        counted[(given.card_id, "completed")] += given.completes


def report(candidate: Program, cards_actual: Counter, cards_candidate: Counter) -> list[dict]:
    ids = [card.id for card in candidate.cards]
    ids += sorted({card_id for card_id, _ in cards_actual} - set(ids))
    return [{"card_id": card_id, "in_candidate": candidate.card(card_id) is not None,
             "actual_stamps": cards_actual[(card_id, "stamps")],
             "candidate_stamps": cards_candidate[(card_id, "stamps")],
             "actual_completed": cards_actual[(card_id, "completed")],
             "candidate_completed": cards_candidate[(card_id, "completed")]} for card_id in ids]
