"""Expiry: what is left of lots past their ``expires_at`` leaves with an ``expire`` entry each.

Also the two ways a lot's expiry date moves: an inactivity policy brings it
forward, and a new policy with ``redate_earned`` re-dates it.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, and_, bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from loyalty.db.batch_sql import among, numbered_ids, unprepared
from loyalty.db.types import UTCDateTime
from loyalty.ids import new_ids
from loyalty.ledger.entries import WRITTEN_ENTRIES, Posting
from loyalty.models import LedgerEntry, Lot, Member
from loyalty.models.jobs import LOT_HOLDS_POINTS

LOTS = Lot.__table__


@dataclass(frozen=True)
class Expired:
    """What a member lost to expiry: ``points`` from ``lots`` lots, leaving ``balance``."""

    member_id: str
    points: int
    lots: int
    balance: int


def expire_due(session: Session, member_ids: list[str], posting: Posting) -> list[Expired]:
    """Expire what is left of the lots of `member_ids` due at ``posting.now``; per member, by id.

    Set-based, for batches of thousands of members: one ``expire`` entry per
    lot (its remainder, the member's running balance after it, and the lot's
    rule, event and expiry, which name the lot), written with the lots
    zeroed and the balances lowered by one statement on PostgreSQL (three on
    SQLite, which has no INSERT or UPDATE in a WITH). No lot is loaded into Python.
    """
    with unprepared(session):
        due_filter = and_(among(session, Lot.member_id, member_ids), LOT_HOLDS_POINTS, Lot.expires_at <= posting.now)
        expired = _expiring(session, member_ids, due_filter)
        if not expired:
            return []
        session.info.setdefault(WRITTEN_ENTRIES, []).append(("expire", -sum(e.points for e in expired)))
        entries = insert(LedgerEntry).from_select(
            ["id", "member_id", "type", "points", "balance_after", "rule_id", "event_id", "reason", "actor",
             "rules_version", "created_at", "expires_at"],
            _expire_entries(session, member_ids, due_filter, sum(e.lots for e in expired), posting))
        totals = (select(Lot.member_id, func.sum(Lot.remaining).label("points"))
                  .where(due_filter).group_by(Lot.member_id).cte("totals"))
        balances = (update(Member).where(Member.id == totals.c.member_id, among(session, Member.id, member_ids))
                    .values(balance=Member.balance - totals.c.points))
        zeroed = update(Lot).where(due_filter).values(remaining=0)
        if session.get_bind().dialect.name == "postgresql":
            # Every part reads the snapshot before any of them writes: the entries' running
            # balances start from the balances before, and the lots zeroed are the ones posted.
            statements = [entries.add_cte(balances.cte("balances"), zeroed.cte("zeroed"))]
        else:
            statements = [entries, balances, zeroed]
        for statement in statements:
            session.connection().execute(statement)
    return expired


def _expiring(session: Session, member_ids: list[str], due_filter) -> list[Expired]:
    """Per member, by id: the points and lots due, and the balance they leave."""
    due = func.sum(Lot.remaining)
    rows = session.execute(
        select(Lot.member_id, due, func.count(), Member.balance - due)
        .join(Member, Member.id == Lot.member_id).where(due_filter, among(session, Member.id, member_ids))
        .group_by(Lot.member_id, Member.balance).order_by(Lot.member_id))
    return [Expired(member_id, int(points), lots, int(balance)) for member_id, points, lots, balance in rows]


def _expire_entries(session: Session, member_ids: list[str], due_filter, count: int, posting: Posting):
    """The ``expire`` entries' rows, a member's in order of expiry, each with its new id."""
    order = (Lot.member_id, Lot.expires_at, Lot.id)
    running = func.sum(Lot.remaining).over(partition_by=Lot.member_id, order_by=order[1:])
    due = (select(Lot.member_id, Lot.remaining, Lot.expires_at, Lot.rule_id, Lot.event_id,
                  func.row_number().over(order_by=order).label("n"), (Member.balance - running).label("balance_after"))
           .join(Member, Member.id == Lot.member_id).where(due_filter, among(session, Member.id, member_ids))
           .cte("due"))
    ids = numbered_ids(session, new_ids("txn", count))
    return (
        select(ids.c.txn_id, due.c.member_id, literal("expire"), -due.c.remaining, due.c.balance_after,
               due.c.rule_id, due.c.event_id, literal(posting.reason, String), literal(posting.actor, String),
               literal(posting.rules_version, Integer), literal(posting.now, UTCDateTime), due.c.expires_at)
        .select_from(due.join(ids, ids.c.n == due.c.n))
        .order_by(due.c.n))


def bring_expiry_forward(session: Session, member_id: str, at: datetime) -> None:
    """Lots holding points that would expire after ``at`` expire at ``at`` (an inactivity policy)."""
    session.execute(
        update(Lot)
        .where(Lot.member_id == member_id, LOT_HOLDS_POINTS, Lot.expires_at.is_(None) | (Lot.expires_at > at))
        .values(expires_at=at).execution_options(synchronize_session=False))


def redate(session: Session, moves: list[dict]) -> None:
    """New expiry dates, ``{"lot_id", "new_expiry"}`` each; the lots' members are locked by the caller."""
    if moves:
        session.execute(
            LOTS.update().where(LOTS.c.id == bindparam("lot_id")).values(expires_at=bindparam("new_expiry")), moves)
