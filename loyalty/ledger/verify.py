"""``ledger verify``: every figure the ledger caches, recomputed from what it records.

A list of small named checks (beancount's validation), each a query that
returns what disagrees; adding an invariant means adding one.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import Session

from loyalty.models import LedgerEntry, Lot, LotDraw, Member


@dataclass(frozen=True)
class Mismatch:
    check: str
    member_id: str
    cached: int
    expected: int
    lot_id: int | None = None

    def __str__(self) -> str:
        where = f"lot {self.lot_id} of {self.member_id}" if self.lot_id is not None else self.member_id
        return f"{where}: {self.check} is {self.cached}, the ledger says {self.expected}"


def _by_member(*columns, where=None):
    query = select(LedgerEntry.member_id.label("member_id"), *columns).group_by(LedgerEntry.member_id)
    return (query.where(where) if where is not None else query).subquery()


def _compare(session: Session, check: str, cached, recomputed, compare=None) -> list[Mismatch]:
    """Members whose ``cached`` column differs from ``recomputed`` (a per-member subquery's ``total``)."""
    expected = func.coalesce(recomputed.c.total, 0)
    differs = compare(cached, expected) if compare else cached != expected
    rows = session.execute(select(Member.id, cached, expected)
                           .outerjoin(recomputed, recomputed.c.member_id == Member.id).where(differs)
                           .order_by(Member.id))
    return [Mismatch(check, member_id, int(have), int(want)) for member_id, have, want in rows]


def balance(session: Session) -> list[Mismatch]:
    """balance = Σ entries."""
    return _compare(session, "balance", Member.balance, _by_member(func.sum(LedgerEntry.points).label("total")))


def spendable_lots(session: Session) -> list[Mismatch]:
    """Σ active lots' remainders = max(balance, 0): lots never hold more than can be spent."""
    lots = (select(Lot.member_id, func.sum(Lot.remaining).label("total"))
            .where(Lot.status == "active").group_by(Lot.member_id).subquery())
    spendable = case((Member.balance > 0, Member.balance), else_=0)
    return _compare(session, "spendable balance", spendable, lots)


def pending(session: Session) -> list[Mismatch]:
    """pending = Σ pending lots' remainders."""
    lots = (select(Lot.member_id, func.sum(Lot.remaining).label("total"))
            .where(Lot.status == "pending").group_by(Lot.member_id).subquery())
    return _compare(session, "pending", Member.pending, lots)


def lifetime_earned(session: Session) -> list[Mismatch]:
    """lifetime earned = Σ earn and reverse entries, and adjustments upward."""
    earned = or_(LedgerEntry.type.in_(("earn", "reverse")),
                 and_(LedgerEntry.type == "adjust", LedgerEntry.points > 0))
    return _compare(session, "lifetime earned", Member.lifetime_earned,
                    _by_member(func.sum(LedgerEntry.points).label("total"), where=earned))


def lifetime_redeemed(session: Session) -> list[Mismatch]:
    """lifetime redeemed = −Σ redeem and void entries."""
    return _compare(session, "lifetime redeemed", Member.lifetime_redeemed,
                    _by_member((-func.sum(LedgerEntry.points)).label("total"),
                               where=LedgerEntry.type.in_(("redeem", "void"))))


def lot_draws(session: Session) -> list[Mismatch]:
    """A lot's remainder plus what standing debits drew from it never exceeds its points.

    A voided redemption's draws were put back, so they do not stand. Expiry,
    refunds of pending points and debts paid off lower a remainder further.
    """
    voided = select(LedgerEntry.redemption_id).where(LedgerEntry.type == "void", LedgerEntry.redemption_id.is_not(None))
    standing = (select(LotDraw.lot_id, func.sum(LotDraw.points).label("drawn"))
                .join(LedgerEntry, LedgerEntry.seq == LotDraw.entry_seq)
                .where(not_(and_(LedgerEntry.type == "redeem", LedgerEntry.redemption_id.in_(voided))))
                .group_by(LotDraw.lot_id).subquery())
    accounted = Lot.remaining + func.coalesce(standing.c.drawn, 0)
    rows = session.execute(select(Lot.id, Lot.member_id, accounted, Lot.points)
                           .outerjoin(standing, standing.c.lot_id == Lot.id)
                           .where(or_(accounted > Lot.points, func.coalesce(standing.c.drawn, 0) < 0))
                           .order_by(Lot.id))
    return [Mismatch("remainder plus standing draws", member_id, int(have), int(points), lot_id)
            for lot_id, member_id, have, points in rows]


CHECKS: tuple[Callable[[Session], list[Mismatch]], ...] = (
    balance, spendable_lots, pending, lifetime_earned, lifetime_redeemed, lot_draws)


def verify_ledger(session: Session) -> list[Mismatch]:
    """Everything every check finds; empty when the ledger agrees with itself."""
    return [mismatch for check in CHECKS for mismatch in check(session)]
