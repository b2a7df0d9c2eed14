"""Debits: points out, drawn from the lots that expire first (a lot draw each); and undoing a debit."""

from datetime import datetime

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from loyalty.errors import InsufficientPoints
from loyalty.ledger.credits import INSERT_LOTS, lot_copy
from loyalty.ledger.entries import Posting, post
from loyalty.models import LedgerEntry, Lot, LotDraw, Member

INSERT_DRAWS = LotDraw.__table__.insert()
EARLIEST_EXPIRY_FIRST = (Lot.expires_at.is_(None), Lot.expires_at, Lot.id)


def debit(session: Session, member: Member, points: int, entry_type: str, posting: Posting, *,
          allow_negative: bool, rule_id: str | None = None, redemption_id: str | None = None,
          prefer_event_id: str | None = None) -> dict:
    """Take points out, from the lots that expire first (the named event's lots before others).

    Without ``allow_negative`` only spendable points count: lots past their
    expiry that the expiry job has not reached yet are not spendable, and a
    larger debit is refused. Reversals and adjustments may drive the balance
    below zero instead. Returns the entry as written.
    """
    if points <= 0:
        raise ValueError("debit points must be positive")
    lots = _lots_to_draw(session, member.id, posting.now, prefer_event_id)
    if not allow_negative:
        lots = [lot for lot in lots if not _expired(lot, posting.now)]
        spendable = sum(lot.remaining for lot in lots)
        if spendable < points:
            raise InsufficientPoints(
                f"The member has {spendable} spendable points; {points} are needed.",
                {"balance": member.balance, "spendable": spendable, "required": points},
            )
    entry = post(session, member, entry_type, -points, posting, rule_id=rule_id, redemption_id=redemption_id)
    draws = []
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(left, lot.remaining)
        lot.remaining -= take
        left -= take
        draws.append({"entry_seq": entry["seq"], "lot_id": lot.id, "points": take})
    if draws:
        session.execute(INSERT_DRAWS, draws)
    return entry


def restore(session: Session, member: Member, debit_entry: LedgerEntry, entry_type: str,
            posting: Posting) -> dict:
    """Undo a debit: the same points back into the lots they left, with their original expiry.

    ``member`` may be the member a merged member's debit was merged into: it gets lots like those.

    Points that come back while the balance is negative pay that debt first,
    so the lots only take back what the balance can cover.
    """
    entry = post(session, member, entry_type, -debit_entry.points, posting, redemption_id=debit_entry.redemption_id)
    draws = session.execute(
        select(LotDraw, Lot).join(Lot, Lot.id == LotDraw.lot_id)
        .where(LotDraw.entry_seq == debit_entry.seq).order_by(*EARLIEST_EXPIRY_FIRST)
    ).all()
    room = max(0, member.balance) - spendable_points(session, member.id, None)
    copies = []
    for draw, lot in draws:
        back = min(draw.points, room)
        if back <= 0:
            break
        if lot.member_id == member.id:
            lot.remaining += back
        else:  # a merged member's debit: its points come back to the member it was merged into
            copies.append(lot_copy(lot, member.id, back, back, posting.now))
        room -= back
    if copies:
        session.execute(INSERT_LOTS, copies)
    session.flush()
    return entry


def spendable_points(session: Session, member_id: str, now: datetime | None) -> int:
    """What a redemption may take now: active lots not yet past their expiry.

    With ``now`` None, lots past their expiry that the job has not swept yet count too.
    """
    condition = Lot.expires_at.is_(None) | (Lot.expires_at > now) if now is not None else true()
    return session.scalar(
        select(func.coalesce(func.sum(Lot.remaining), 0))
        .where(Lot.member_id == member_id, Lot.status == "active", Lot.remaining > 0, condition)
    )


def _expired(lot: Lot, now: datetime) -> bool:
    return lot.expires_at is not None and lot.expires_at <= now


def _lots_to_draw(session: Session, member_id: str, now: datetime, prefer_event_id: str | None):
    lots = session.scalars(
        select(Lot).where(Lot.member_id == member_id, Lot.status == "active", Lot.remaining > 0)
        .order_by(*EARLIEST_EXPIRY_FIRST)
    ).all()

    def order(lot: Lot):
        return (lot.event_id != prefer_event_id if prefer_event_id else False, _expired(lot, now))

    return sorted(lots, key=order)
