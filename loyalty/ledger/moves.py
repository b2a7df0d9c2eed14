"""Points moving from one member to another: a merge (everything) or a transfer (some spendable points).

Each move is a pair of entries of one type (``merge`` or ``transfer``): the
points leave one member with a debit that records its lot draws, and arrive
at the other in new lots with the same expiry, availability, event and rule
as the lots they left. History is never rewritten: the lots left keep their
draws, the new lots are new rows. The caller holds both members' locks.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.errors import InsufficientPoints
from loyalty.ledger.credits import INSERT_LOTS, lot_copy
from loyalty.ledger.debits import EARLIEST_EXPIRY_FIRST, INSERT_DRAWS, debit, spendable_points
from loyalty.ledger.entries import Posting, post
from loyalty.models import Lot, Member


@dataclass(frozen=True)
class Moved:
    """What a move wrote: the entry on each side (None where no points moved), the receiver's new
    lots, and the pending points that moved with their lots."""

    points: int
    sent: dict | None
    received: dict | None
    lots: list[dict]
    pending: int = 0


def merge_points(session: Session, duplicate: Member, survivor: Member, sent: Posting,
                 received: Posting) -> Moved:
    """Everything the duplicate holds goes to the survivor: its balance (a debt too) and its lots, pending or not.

    Lots past their expiry that the expiry job has not reached move too, and
    expire at the survivor on their own date.
    """
    points = duplicate.balance
    moved = Moved(0, None, None, [])
    if points > 0:
        lots = _active_lots(session, duplicate.id)
        moved = _move(session, duplicate, survivor, [(lot, lot.remaining) for lot in lots], points, "merge",
                      sent, received)
    elif points < 0:  # a debt: the survivor takes it on, paid from its lots as a debit would be
        sent_entry = post(session, duplicate, "merge", -points, sent)
        received_entry = debit(session, survivor, -points, "merge", received, allow_negative=True)
        moved = Moved(points, sent_entry, received_entry, [])
    pending = _move_pending(session, duplicate, survivor, received.now)
    return Moved(moved.points, moved.sent, moved.received, moved.lots, pending)


def transfer_points(session: Session, sender: Member, receiver: Member, points: int, sent: Posting,
                    received: Posting) -> Moved:
    """``points`` of the sender's spendable points, from the lots that expire first, to the receiver."""
    lots = [lot for lot in _active_lots(session, sender.id)
            if lot.expires_at is None or lot.expires_at > sent.now]
    spendable = sum(lot.remaining for lot in lots)
    if spendable < points:
        raise InsufficientPoints(
            f"The member has {spendable} spendable points; {points} are needed.",
            {"balance": sender.balance, "spendable": spendable, "required": points})
    takes, left = [], points
    for lot in lots:
        if left == 0:
            break
        take = min(left, lot.remaining)
        takes.append((lot, take))
        left -= take
    return _move(session, sender, receiver, takes, points, "transfer", sent, received)


def _active_lots(session: Session, member_id: str) -> list[Lot]:
    return list(session.scalars(
        select(Lot).where(Lot.member_id == member_id, Lot.status == "active", Lot.remaining > 0)
        .order_by(*EARLIEST_EXPIRY_FIRST)))


def _move(session: Session, source: Member, target: Member, takes: list[tuple[Lot, int]], points: int,
          entry_type: str, sent: Posting, received: Posting) -> Moved:
    """Debit ``takes`` (lot, points) from the source and credit them to the target as lots alike.

    A target in debt pays it first, from the lots that expire first, so the
    target's lots hold no more than its balance, as with any credit.
    """
    sent_entry = post(session, source, entry_type, -points, sent)
    for lot, take in takes:
        lot.remaining -= take
    session.execute(INSERT_DRAWS, [{"entry_seq": sent_entry["seq"], "lot_id": lot.id, "points": take}
                                   for lot, take in takes])
    held = spendable_points(session, target.id, None)
    received_entry = post(session, target, entry_type, points, received)
    debt = points - (max(0, target.balance) - held)
    lots = []
    for lot, take in takes:
        paid = min(debt, take)
        debt -= paid
        lots.append(lot_copy(lot, target.id, take, take - paid, received.now))
    session.execute(INSERT_LOTS, lots)
    return Moved(points, sent_entry, received_entry, lots)


def _move_pending(session: Session, source: Member, target: Member, now: datetime) -> int:
    """Pending lots move whole: the source's are emptied, the target gets their like, released on the same day."""
    lots = list(session.scalars(select(Lot).where(Lot.member_id == source.id, Lot.status == "pending",
                                                  Lot.remaining > 0).order_by(Lot.id)))
    if not lots:
        return 0
    copies = [lot_copy(lot, target.id, lot.remaining, lot.remaining, now, status="pending") for lot in lots]
    moved = sum(lot.remaining for lot in lots)
    for lot in lots:
        lot.remaining = 0
    source.pending -= moved
    target.pending += moved
    session.execute(INSERT_LOTS, copies)
    return moved
