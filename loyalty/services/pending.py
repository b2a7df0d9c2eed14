"""Releasing pending points, as a jobs step: the members with lots available now, a batch at a time.

What a release writes is ``ledger.release``'s.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import ledger
from loyalty.db.transactions import lock_members
from loyalty.models import Lot
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
    return ledger.release(session, lock_members(session, member_ids), now, rules_version, ACTOR)
