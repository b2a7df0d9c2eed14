"""The only code that changes points.

Every change is an immutable entry; the member's cached ``balance`` moves with
it, so ``balance == Σ entries`` always. Credits create lots that carry their
expiry; debits draw lots down. Lots never hold more than a member can spend:
a credit that arrives while the balance is negative first pays off the debt,
so ``Σ lot.remaining == max(balance, 0)`` holds too. Callers must hold the
member's lock (``transactions.lock_members``) inside a write transaction.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from loyalty.errors import InsufficientPoints
from loyalty.ids import new_id
from loyalty.models import LedgerEntry, Lot, LotDraw, Member


@dataclass(frozen=True)
class Posting:
    """Who did it and why, copied onto every entry of one change."""

    now: datetime
    actor: str | None = None
    rules_version: int | None = None
    event_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Credit:
    points: int
    rule_id: str | None
    available_at: datetime
    expires_at: datetime | None
    pending: bool = False
    spend_based: bool = False


def credit(session: Session, member: Member, credits: list[Credit], posting: Posting,
           entry_type: str = "earn") -> list[tuple[LedgerEntry | None, Lot]]:
    """Post credits: an entry and a lot each; pending ones only a lot until released."""
    posted = []
    for item in credits:
        entry = None
        if item.pending:
            member.pending += item.points
        else:
            entry = _entry(member, entry_type, item.points, posting, rule_id=item.rule_id,
                           expires_at=item.expires_at)
            session.add(entry)
        posted.append((entry, item))
    if any(entry is not None for entry, _ in posted):
        session.flush()
    result = []
    for entry, item in posted:
        # A credit pays any negative balance off first; only the rest is spendable.
        remaining = item.points if entry is None else min(item.points, max(0, entry.balance_after))
        lot = Lot(
            member_id=member.id, entry_seq=entry.seq if entry else None, event_id=posting.event_id,
            rule_id=item.rule_id, points=item.points, remaining=remaining,
            status="pending" if item.pending else "active", spend_based=item.spend_based,
            available_at=item.available_at, expires_at=item.expires_at, created_at=posting.now,
        )
        session.add(lot)
        result.append((entry, lot))
    return result


def debit(session: Session, member: Member, points: int, entry_type: str, posting: Posting, *,
          allow_negative: bool, rule_id: str | None = None, redemption_id: str | None = None,
          prefer_event_id: str | None = None) -> LedgerEntry:
    """Take points out, from the lots that expire first (the named event's lots before others).

    Without ``allow_negative`` only spendable points count: lots past their
    expiry that the expiry job has not reached yet are not spendable, and a
    larger debit is refused. Reversals and adjustments may drive the balance
    below zero instead.
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
    entry = _entry(member, entry_type, -points, posting, rule_id=rule_id, redemption_id=redemption_id)
    session.add(entry)
    session.flush()
    left = points
    for lot in lots:
        if left == 0:
            break
        take = min(left, lot.remaining)
        lot.remaining -= take
        left -= take
        session.add(LotDraw(entry_seq=entry.seq, lot_id=lot.id, points=take))
    return entry


def restore(session: Session, member: Member, debit_entry: LedgerEntry, entry_type: str,
            posting: Posting) -> LedgerEntry:
    """Undo a debit: the same points back into the lots they left, with their original expiry.

    Points that come back while the balance is negative pay that debt first,
    so the lots only take back what the balance can cover.
    """
    points = -debit_entry.points
    entry = _entry(member, entry_type, points, posting, redemption_id=debit_entry.redemption_id)
    session.add(entry)
    draws = session.execute(
        select(LotDraw, Lot).join(Lot, Lot.id == LotDraw.lot_id)
        .where(LotDraw.entry_seq == debit_entry.seq)
        .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.id)
    ).all()
    room = max(0, member.balance) - _spendable_total(session, member.id)
    for draw, lot in draws:
        back = min(draw.points, room)
        if back <= 0:
            break
        lot.remaining += back
        room -= back
    session.flush()
    return entry


def spendable_points(session: Session, member_id: str, now: datetime) -> int:
    """What a redemption may take now: active lots not yet past their expiry."""
    return session.scalar(
        select(func.coalesce(func.sum(Lot.remaining), 0)).where(
            Lot.member_id == member_id, Lot.status == "active", Lot.remaining > 0,
            Lot.expires_at.is_(None) | (Lot.expires_at > now),
        )
    )


def _spendable_total(session: Session, member_id: str) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(Lot.remaining), 0))
        .where(Lot.member_id == member_id, Lot.status == "active")
    )


def _expired(lot: Lot, now: datetime) -> bool:
    return lot.expires_at is not None and lot.expires_at <= now


def _lots_to_draw(session: Session, member_id: str, now: datetime, prefer_event_id: str | None):
    lots = session.scalars(
        select(Lot)
        .where(Lot.member_id == member_id, Lot.status == "active", Lot.remaining > 0)
        .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.id)
    ).all()

    def order(lot: Lot):
        return (lot.event_id != prefer_event_id if prefer_event_id else False, _expired(lot, now))

    return sorted(lots, key=order)


def _entry(member: Member, entry_type: str, points: int, posting: Posting, *, rule_id=None,
           redemption_id=None, expires_at=None) -> LedgerEntry:
    member.balance += points
    if entry_type == "earn" or (entry_type == "adjust" and points > 0):
        member.lifetime_earned += points
    elif entry_type == "reverse":
        member.lifetime_earned += points
    elif entry_type in ("redeem", "void"):
        member.lifetime_redeemed -= points
    return LedgerEntry(
        id=new_id("txn"), member_id=member.id, type=entry_type, points=points,
        balance_after=member.balance, rule_id=rule_id, event_id=posting.event_id,
        redemption_id=redemption_id, reason=posting.reason, actor=posting.actor,
        rules_version=posting.rules_version, created_at=posting.now, expires_at=expires_at,
    )


def open_balances(session: Session, balances: list[tuple[str, int]], posting: Posting,
                  expires_at: datetime | None) -> None:
    """Opening balances for members inserted (with zero points) in this transaction: bulk imports.

    The same ``adjust`` entries and lots ``credit`` would post, written one
    statement per table for the whole batch instead of one flush per member.
    """
    if not balances:
        return
    entries = [{
        "id": new_id("txn"), "member_id": member_id, "type": "adjust", "points": points, "balance_after": points,
        "rule_id": None, "event_id": posting.event_id, "redemption_id": None, "reason": posting.reason,
        "actor": posting.actor, "rules_version": posting.rules_version, "created_at": posting.now,
        "expires_at": expires_at,
    } for member_id, points in balances]
    connection = session.connection()
    connection.execute(LedgerEntry.__table__.insert(), entries)
    seq_of = dict(connection.execute(
        select(LedgerEntry.id, LedgerEntry.seq).where(LedgerEntry.id.in_([e["id"] for e in entries]))).all())
    seqs = [seq_of[e["id"]] for e in entries]
    connection.execute(Lot.__table__.insert(), [{
        "member_id": member_id, "entry_seq": seq, "event_id": posting.event_id, "rule_id": None,
        "points": points, "remaining": points, "status": "active", "spend_based": False,
        "available_at": posting.now, "expires_at": expires_at, "created_at": posting.now,
    } for (member_id, points), seq in zip(balances, seqs, strict=True)])
    members = Member.__table__
    connection.execute(
        members.update().where(members.c.id == bindparam("member"))
        .values(balance=members.c.balance + bindparam("points"),
                lifetime_earned=members.c.lifetime_earned + bindparam("points")),
        [{"member": member_id, "points": points} for member_id, points in balances],
    )
