"""Pending points: a lot counted in ``member.pending`` until its ``available_at`` comes.

At release the lot gets its ``earn`` entry, for what is left of it after any
refund, recorded with the rules version that awarded it. As with any credit,
points that arrive while the balance is negative pay that debt first, so the
lot keeps only what the balance covers.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.ledger.entries import Posting, entry_row, write_entries
from loyalty.models import Event, Lot, Member

RELEASED = "pending points released"


def release(session: Session, members: dict[str, Member], now: datetime, rules_version: int,
            actor: str) -> int:
    """Release the locked ``members``' pending lots available at ``now``; returns the lots released."""
    rows = session.execute(
        select(Lot, Event.rules_version)
        .outerjoin(Event, Event.id == Lot.event_id)
        .where(Lot.member_id.in_(list(members)), Lot.status == "pending", Lot.available_at <= now)
        .order_by(Lot.member_id, Lot.available_at, Lot.id)
    ).all()
    entries = []
    for lot, awarded_by in rows:
        member = members[lot.member_id]
        points = lot.remaining
        lot.status = "active"
        if points == 0:  # refunded while pending
            continue
        member.pending -= points
        posting = Posting(now=now, actor=actor, rules_version=awarded_by or rules_version,
                          event_id=lot.event_id, reason=RELEASED)
        entries.append(entry_row(member, "earn", points, posting, rule_id=lot.rule_id, expires_at=lot.expires_at))
        lot.remaining = min(points, max(0, member.balance))
    write_entries(session, entries)
    session.flush()
    return len(rows)


def take_back_pending(session: Session, member: Member, event_id: str, points: int) -> int:
    """Take up to ``points`` from the event's still-pending spend lots; returns what is left to take."""
    lots = session.scalars(
        select(Lot).where(Lot.event_id == event_id, Lot.member_id == member.id,
                          Lot.status == "pending", Lot.spend_based, Lot.remaining > 0)
    ).all()
    left = points
    for lot in lots:
        take = min(left, lot.remaining)
        lot.remaining -= take
        member.pending -= take
        left -= take
    return left
