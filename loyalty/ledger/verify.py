"""Recompute every balance from the ledger and compare with the cached ones."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.models import LedgerEntry, Lot, Member


@dataclass(frozen=True)
class Mismatch:
    member_id: str
    cached_balance: int
    ledger_sum: int
    lots_remaining: int


def verify_ledger(session: Session) -> list[Mismatch]:
    """Members whose balance ≠ Σ entries, or whose spendable lots ≠ max(balance, 0)."""
    entry_sums = (
        select(LedgerEntry.member_id, func.sum(LedgerEntry.points).label("total"))
        .group_by(LedgerEntry.member_id).subquery()
    )
    lot_sums = (
        select(Lot.member_id, func.sum(Lot.remaining).label("remaining"))
        .where(Lot.status == "active").group_by(Lot.member_id).subquery()
    )
    rows = session.execute(
        select(Member.id, Member.balance, func.coalesce(entry_sums.c.total, 0),
               func.coalesce(lot_sums.c.remaining, 0))
        .outerjoin(entry_sums, entry_sums.c.member_id == Member.id)
        .outerjoin(lot_sums, lot_sums.c.member_id == Member.id)
    )
    return [
        Mismatch(member_id, balance, int(total), int(remaining))
        for member_id, balance, total, remaining in rows
        if balance != total or remaining != max(balance, 0)
    ]
