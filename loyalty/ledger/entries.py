"""The only code that changes points.

Every change is an immutable entry; the member's cached ``balance`` moves with
it, so ``balance == Σ entries`` always. Credits create lots that carry their
expiry; debits draw lots down. Lots never hold more than a member can spend:
a credit that arrives while the balance is negative first pays off the debt,
so ``Σ lot.remaining == max(balance, 0)`` holds too; expiry takes a lot's
remainder out of both. Callers must hold the member's lock
(``transactions.lock_members``) inside a write transaction.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Integer, String, and_, bindparam, func, insert, literal, select, true, update
from sqlalchemy.orm import Session

from loyalty.db.batch_sql import among, numbered_ids, unprepared
from loyalty.db.types import UTCDateTime
from loyalty.errors import InsufficientPoints
from loyalty.ids import new_id, new_ids
from loyalty.models import LedgerEntry, Lot, LotDraw, Member
from loyalty.models.jobs import LOT_HOLDS_POINTS

if TYPE_CHECKING:
    from loyalty.ledger.batch import WriteBatch


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


@dataclass(frozen=True)
class Expired:
    """What a member lost to expiry: ``points`` from ``lots`` lots, leaving ``balance``."""

    member_id: str
    points: int
    lots: int
    balance: int


#: Entries, lots and draws are written with Core: insert-only rows gain nothing from the
#: unit of work, which costs several times the statement itself on the hot path.
INSERT_ENTRIES = LedgerEntry.__table__.insert()
INSERT_ENTRY = INSERT_ENTRIES.returning(LedgerEntry.__table__.c.seq)
INSERT_LOTS = Lot.__table__.insert()
INSERT_DRAWS = LotDraw.__table__.insert()
#: ``session.info`` key: (type, points) of each entry this transaction wrote, for metrics at commit.
WRITTEN_ENTRIES = "loyalty.ledger_entries"


def credit(session: Session, member: Member, credits: list[Credit], posting: Posting,
           entry_type: str = "earn", batch: "WriteBatch | None" = None) -> list[dict | None]:
    """Post credits: an entry and a lot each; pending ones only a lot until released.

    Returns the entries as written, without their ``seq`` (``None`` for a
    pending credit). With a ``batch`` the rows are written when it runs.
    """
    entries, lots = [], []
    for item in credits:
        entry = None
        if item.pending:
            member.pending += item.points
            remaining = item.points
        else:
            entry = _entry(member, entry_type, item.points, posting, rule_id=item.rule_id,
                           expires_at=item.expires_at)
            # A credit pays any negative balance off first; only the rest is spendable.
            remaining = min(item.points, max(0, entry["balance_after"]))
        lots.append({
            "member_id": member.id, "event_id": posting.event_id,
            "rule_id": item.rule_id, "points": item.points, "remaining": remaining,
            "status": "pending" if item.pending else "active", "spend_based": item.spend_based,
            "available_at": item.available_at, "expires_at": item.expires_at, "created_at": posting.now,
        })
        entries.append(entry)
    written = [entry for entry in entries if entry is not None]
    session.info.setdefault(WRITTEN_ENTRIES, []).extend((e["type"], e["points"]) for e in written)
    if batch is not None:
        batch.entries.extend(written)
        batch.lots.extend(lots)
    else:
        write_entries_and_lots(session, written, lots)
    return entries


def write_entries_and_lots(session: Session, entries: list[dict], lots: list[dict]) -> None:
    """Insert entries and lots, one statement each."""
    if entries:
        session.execute(INSERT_ENTRIES, entries)
    if lots:
        session.execute(INSERT_LOTS, lots)


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
    entry = _post(session, member, entry_type, -points, posting, rule_id=rule_id, redemption_id=redemption_id)
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

    Points that come back while the balance is negative pay that debt first,
    so the lots only take back what the balance can cover.
    """
    entry = _post(session, member, entry_type, -debit_entry.points, posting,
                  redemption_id=debit_entry.redemption_id)
    draws = session.execute(
        select(LotDraw, Lot).join(Lot, Lot.id == LotDraw.lot_id)
        .where(LotDraw.entry_seq == debit_entry.seq)
        .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.id)
    ).all()
    room = max(0, member.balance) - spendable_points(session, member.id, None)
    for draw, lot in draws:
        back = min(draw.points, room)
        if back <= 0:
            break
        lot.remaining += back
        room -= back
    session.flush()
    return entry


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
        select(Lot)
        .where(Lot.member_id == member_id, Lot.status == "active", Lot.remaining > 0)
        .order_by(Lot.expires_at.is_(None), Lot.expires_at, Lot.id)
    ).all()

    def order(lot: Lot):
        return (lot.event_id != prefer_event_id if prefer_event_id else False, _expired(lot, now))

    return sorted(lots, key=order)


def _post(session: Session, member: Member, entry_type: str, points: int, posting: Posting, *,
          rule_id=None, redemption_id=None, expires_at=None) -> dict:
    """Write one entry and move the member's cached totals with it; returns the row with its ``seq``."""
    entry = _entry(member, entry_type, points, posting, rule_id=rule_id, redemption_id=redemption_id,
                   expires_at=expires_at)
    entry["seq"] = session.execute(INSERT_ENTRY, entry).scalar_one()
    session.info.setdefault(WRITTEN_ENTRIES, []).append((entry_type, points))
    return entry


def _entry(member: Member, entry_type: str, points: int, posting: Posting, *,
           rule_id=None, redemption_id=None, expires_at=None) -> dict:
    """One entry's row, with the member's cached totals moved by it (to be written by the caller)."""
    member.balance += points
    if entry_type == "earn" or (entry_type == "adjust" and points > 0):
        member.lifetime_earned += points
    elif entry_type == "reverse":
        member.lifetime_earned += points
    elif entry_type in ("redeem", "void"):
        member.lifetime_redeemed -= points
    entry = {
        "id": new_id("txn"), "member_id": member.id, "type": entry_type, "points": points,
        "balance_after": member.balance, "rule_id": rule_id, "event_id": posting.event_id,
        "redemption_id": redemption_id, "reason": posting.reason, "actor": posting.actor,
        "rules_version": posting.rules_version, "created_at": posting.now, "expires_at": expires_at,
    }
    return entry


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
    connection.execute(INSERT_ENTRIES, entries)
    connection.execute(INSERT_LOTS, [{
        "member_id": member_id, "event_id": posting.event_id, "rule_id": None,
        "points": points, "remaining": points, "status": "active", "spend_based": False,
        "available_at": posting.now, "expires_at": expires_at, "created_at": posting.now,
    } for member_id, points in balances])
    members = Member.__table__
    connection.execute(
        members.update().where(members.c.id == bindparam("member"))
        .values(balance=members.c.balance + bindparam("points"),
                lifetime_earned=members.c.lifetime_earned + bindparam("points")),
        [{"member": member_id, "points": points} for member_id, points in balances],
    )
