"""Releasing pending points: a lot whose ``available_at`` has come becomes spendable.

Until then the lot counts only in ``member.pending`` and has no ledger entry
(``ledger.credit``); at release it gets its ``earn`` entry, for what is left
of it after any refund, recorded with the rules version that awarded it. As
with any credit, points that arrive while the balance is negative pay that
debt first, so the lot keeps only what the balance covers.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.db.transactions import lock_members
from loyalty.ids import new_id
from loyalty.models import Event, LedgerEntry, Lot
from loyalty.models.jobs import LOT_PENDING
from loyalty.services.rules import active_rules
from loyalty.services.sweep import SweepResult, keyset_after, sweep

ACTOR = "jobs"
BATCH_SIZE = 2000


def release_pending(session: Session, now: datetime, *, batch_size: int = BATCH_SIZE,
                    max_batches: int | None = None) -> SweepResult:
    """Release every pending lot available at `now`; counts lots released."""
    version = active_rules(session).version

    def window(session: Session, cursor, limit: int):
        rows = session.execute(
            select(Lot.member_id, Lot.available_at, Lot.id)
            .where(LOT_PENDING, Lot.available_at <= now,
                   keyset_after(cursor, Lot.available_at, Lot.id))
            .order_by(Lot.available_at, Lot.id).limit(limit)
        ).all()
        if not rows:
            return [], cursor
        return sorted({row.member_id for row in rows}), (rows[-1].available_at, rows[-1].id)

    def process(session: Session, member_ids: list[str]) -> int:
        return release_members(session, member_ids, now, version)

    return sweep(session, window, process, batch_size=batch_size, max_batches=max_batches)


def release_members(session: Session, member_ids: list[str], now: datetime, rules_version: int) -> int:
    members = lock_members(session, member_ids)
    rows = session.execute(
        select(Lot, Event.rules_version)
        .outerjoin(Event, Event.id == Lot.event_id)
        .where(Lot.member_id.in_(member_ids), Lot.status == "pending", Lot.available_at <= now)
        .order_by(Lot.member_id, Lot.available_at, Lot.id)
    ).all()
    for lot, awarded_by in rows:
        member = members[lot.member_id]
        points = lot.remaining
        lot.status = "active"
        if points == 0:  # refunded while pending
            continue
        member.pending -= points
        member.balance += points
        member.lifetime_earned += points
        entry = LedgerEntry(
            id=new_id("txn"), member_id=member.id, type="earn", points=points,
            balance_after=member.balance, rule_id=lot.rule_id, event_id=lot.event_id,
            reason="pending points released", actor=ACTOR, rules_version=awarded_by or rules_version,
            created_at=now, expires_at=lot.expires_at,
        )
        session.add(entry)
        lot.remaining = min(points, max(0, member.balance))
    session.flush()
    return len(rows)
