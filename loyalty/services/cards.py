"""Stamp cards: the stamps an event gives, kept in its transaction; refunds taking them back.

The engine decides (``loyalty.engine.cards``); this module reads each card's
progress before the event and writes the stamps, the progress and the code a
completion issues. Every write happens under the member's row lock.
"""

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.engine import Program
from loyalty.engine.cards import Card, CardProgress, Stamp, taken_back
from loyalty.models import CardStamp, Member, MemberCard, Redemption
from loyalty.services import redemptions
from loyalty.services.rules import ActiveRules
from loyalty.services.tiers import program_day


def current_days(session: Session, member_id: str, card_id: str) -> tuple[date, ...]:
    """The days of the stamps standing on the member's current card: those since the last completion."""
    days = []
    for day, completes in session.execute(
        select(CardStamp.day, CardStamp.completes).where(
            CardStamp.member_id == member_id, CardStamp.card_id == card_id, CardStamp.status == "active")
        .order_by(CardStamp.id.desc())
    ):
        if completes:
            break
        days.append(_day(day))
    return tuple(reversed(days))


def _day(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def record_stamps(session: Session, rules: ActiveRules, member: Member, event: dict, stamps: tuple[Stamp, ...],
                  actor: str | None, now: datetime, card_rows: list["CardRow"]) -> list["CardRow"]:
    """Write the event's stamps and each card's progress; a completion issues its reward's code.

    ``card_rows``: the member's cards as read before the event; returns them as the event leaves them.
    """
    program = rules.program
    rows = {row.card_id: row for row in card_rows}
    for stamp in stamps:
        card = program.card(stamp.card_id)
        row = (session.get(MemberCard, (member.id, card.id)) if card.id in rows
               else _new_progress(session, member.id, card.id, now))
        redemption = None
        if stamp.completes and card.reward_id:
            redemption = redemptions.issue_for_card(session, rules, member, card.reward_id, card.id, actor, now)
        session.add(CardStamp(
            member_id=member.id, card_id=card.id, event_id=event["id"], day=stamp.day,
            once_day=stamp.day if card.per == "day" else None, stamp=stamp.stamps, of=stamp.of,
            completes=stamp.completes, redemption_id=redemption.id if redemption else None, status="active",
            created_at=now,
        ))
        row.stamps = stamp.stamps
        row.last_stamp_day = max(filter(None, (_day(row.last_stamp_day), stamp.day)))
        row.redemption_id = redemption.id if redemption else None
        row.updated_at = now
        if stamp.completes:
            row.completed += 1
            session.flush()
            outbox.emit(session, "card.completed", member.id, {
                "member_id": member.id, "card_id": card.id, "event_id": event["id"], "completed": row.completed,
                "reward_id": card.reward_id, "redemption_id": redemption.id if redemption else None,
                "code": redemption.code if redemption else None, "points": card.points,
                "expires_at": redemption.expires_at if redemption else None,
            }, now)
        rows[card.id] = CardRow(card.id, row.stamps, row.completed, row.last_stamp_day)
    return list(rows.values())


def _new_progress(session: Session, member_id: str, card_id: str, now: datetime) -> MemberCard:
    row = MemberCard(member_id=member_id, card_id=card_id, stamps=0, completed=0, updated_at=now)
    session.add(row)
    return row


def take_back(session: Session, rules: ActiveRules, member: Member, event_id: str, actor: str | None,
              now: datetime) -> None:
    """A whole refund: the stamps the purchase gave are taken back (demo-program.md, "Stamp card").

    A completed card whose code is unused has the code voided and is back at N-1; one whose code was
    used starts the new card at -1; a card in progress loses a stamp.
    """
    program = rules.program
    stamps = session.scalars(select(CardStamp).where(CardStamp.event_id == event_id,
                                                     CardStamp.status == "active")).all()
    for stamp in stamps:
        stamp.status, stamp.once_day, stamp.taken_back_at = "taken_back", None, now
        card = program.card(stamp.card_id)
        row = session.get(MemberCard, (member.id, stamp.card_id))
        if card is None or row is None:  # the card left the program: its stamps no longer count
            continue
        if row.stamps < card.stamps and card.stamp_lapsed(stamp.day, _day(row.last_stamp_day)):
            continue  # it had lapsed by age before the card's last stamp, which took it off the count
        completion = _completion(session, row)
        row.stamps, undone = taken_back(card, row.stamps, completion != "used")
        row.updated_at = now
        if undone:
            _undo_completion(session, rules, member, card, row, completion, stamp, actor, now)
    session.flush()


def _completion(session: Session, row: MemberCard) -> str | None:
    """Whether the current card's completion is ``used`` (its code was completed at a till)."""
    if row.redemption_id is None:
        return None
    redemption = session.get(Redemption, row.redemption_id)
    return "used" if redemption is not None and redemption.status == "completed" else "unused"


def _undo_completion(session: Session, rules: ActiveRules, member: Member, card: Card, row: MemberCard,
                     completion: str | None, stamp: CardStamp, actor: str | None, now: datetime) -> None:
    row.completed -= 1
    if completion == "unused":
        redemption = session.get(Redemption, row.redemption_id)
        if redemptions.effective_status(redemption, now) == "issued":
            redemptions.void(session, rules, redemption.id, actor, now)
    elif card.points:
        posting = ledger.Posting(now=now, actor=actor, rules_version=rules.version, event_id=stamp.event_id,
                                 reason="refund")
        ledger.debit(session, member, card.points, "reverse", posting, allow_negative=True, rule_id=card.id,
                     prefer_event_id=stamp.event_id)
    row.redemption_id = None


CARDS_OF = text("SELECT card_id, stamps, completed, last_stamp_day FROM member_cards WHERE member_id = :member_id")


class CardRow(NamedTuple):
    card_id: str
    stamps: int
    completed: int
    last_stamp_day: date | str | None


def card_views(session: Session, program: Program, member_id: str, now: datetime,
               rows: list[CardRow] | None = None) -> list[dict]:
    """The member's cards as the contract shows them: ``stamps`` on the current card ``of`` N and how
    many cards were ``completed``, for every card of the program; ``rows`` if read already."""
    if not program.cards:
        return []
    if rows is None:
        rows = session.execute(CARDS_OF, {"member_id": member_id})
    rows = {row.card_id: row for row in rows}
    today = program_day(program, now)
    views = []
    for card in program.cards:
        row = rows.get(card.id)
        days = current_days(session, member_id, card.id) if row and card.after_days else ()
        progress_now = CardProgress(row.stamps, row.completed, _day(row.last_stamp_day), days=days) if row \
            else CardProgress()
        views.append({
            "id": card.id, "name": card.name, "description": card.description,
            "stamps": progress_now.shown(card, today), "of": card.stamps, "completed": progress_now.completed,
            "reward_id": card.reward_id, "points": card.points,
        })
    return views
