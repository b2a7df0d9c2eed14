"""Point expiry: what is left of each lot past its ``expires_at`` leaves with an ``expire`` entry.

Batches of locked members go to ``ledger.expire_due``, which posts one
entry per due lot, zeroes the lots and lowers the balances set-based (one
SQL statement on PostgreSQL, no lot loaded into Python); this module finds
the members with due lots and tells subscribers what they lost.

A lot is due when ``expires_at <= now``: at its exact instant, never a
second early. Partly spent lots lose only their remainder; points a void put
back into an expired lot leave at the next run, so they keep their original date.

Inactivity (``expiry: {inactive_after: …}``) brings every lot of a member who
has neither earned nor spent for that long forward to the instant the
inactivity began to count as expiry, then expires them the same way.
"""

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.engine.expiry import Duration
from loyalty.models import LedgerEntry, Lot, Member
from loyalty.models.jobs import LOT_HOLDS_POINTS
from loyalty.services.rules import active_rules
from loyalty.services.sweep import SweepResult, keyset_after, sweep

ACTOR = "jobs"
BATCH_SIZE = 2000


def expire_points(session: Session, now: datetime, *, batch_size: int = BATCH_SIZE,
                  max_batches: int | None = None) -> SweepResult:
    """Expire every lot due at `now`; counts lots expired.

    A batch (one transaction) takes the members of the next `batch_size` due
    lots, in expiry order, and expires all their due lots: a member's balance
    is updated once per batch however many of their lots fall due.
    """
    version = active_rules(session).version

    def window(session: Session, cursor, limit: int):
        rows = session.execute(
            select(Lot.member_id, Lot.expires_at, Lot.id)
            .where(LOT_HOLDS_POINTS, Lot.expires_at <= now,
                   keyset_after(cursor, Lot.expires_at, Lot.id))
            .order_by(Lot.expires_at, Lot.id).limit(limit)
        ).all()
        if not rows:
            return [], cursor
        return sorted({row.member_id for row in rows}), (rows[-1].expires_at, rows[-1].id)

    def process(session: Session, member_ids: list[str]) -> int:
        return expire_due_lots(session, member_ids, now, version)

    return sweep(session, window, process, batch_size=batch_size, max_batches=max_batches)


def expire_due_lots(session: Session, member_ids: list[str], now: datetime, rules_version: int,
                    reason: str | None = None) -> int:
    """Expire the due lots of members the caller has locked; returns how many lots expired.

    Also fit for one member on a write path (a redemption or an event) that
    wants due points gone before it looks at the balance.
    """
    expired = ledger.expire_due(session, member_ids, ledger.Posting(
        now, actor=ACTOR, rules_version=rules_version, reason=reason))
    if expired:
        _emit_expired(session, expired, now)
    return sum(member.lots for member in expired)


def _emit_expired(session: Session, expired: list[ledger.Expired], now: datetime) -> None:
    """One ``points.expired`` per member, when someone subscribes."""
    endpoints = [e for e in outbox.subscribed_endpoints(session) if "points.expired" in e.events]
    for member in expired if endpoints else ():
        outbox.emit(session, "points.expired", member.member_id, {
            "member_id": member.member_id, "points": member.points, "lots": member.lots, "balance": member.balance,
        }, now, endpoints=endpoints)


def expire_inactive(session: Session, now: datetime, *, batch_size: int = BATCH_SIZE,
                    max_batches: int | None = None) -> SweepResult:
    """``inactive_after``: every lot of a member with no earning or spending for that long expires.

    Activity is the latest ``earn`` or ``redeem`` entry, or positive
    ``adjust``; a member who has none counts from enrolment. The lots expire
    at the instant the inactivity period ended.
    """
    rules = active_rules(session)
    program = rules.program
    inactive_after = program.expiry.inactive_after if program.expiry else None
    if inactive_after is None:
        return SweepResult()
    zone = program.timezone
    # A day's margin covers DST; the exact instant is checked per member under the lock.
    cutoff = Duration(-inactive_after.months, -inactive_after.days + 1).after(now.astimezone(zone))

    def window(session: Session, cursor, limit: int):
        ids = session.scalars(
            select(Member.id)
            .where(Member.balance > 0, keyset_after(cursor, Member.id),
                   func.coalesce(last_activity(), Member.enrolled_at) <= cutoff)
            .order_by(Member.id).limit(limit)
        ).all()
        return ids, ((ids[-1],) if ids else cursor)

    def process(session: Session, member_ids: list[str]) -> int:
        rows = session.execute(
            select(Member.id, func.coalesce(last_activity(), Member.enrolled_at))
            .where(Member.id.in_(member_ids), Member.balance > 0)
        ).all()
        ended = {member_id: inactive_after.after(active.astimezone(zone)).astimezone(UTC)
                 for member_id, active in rows}
        due = {member_id: at for member_id, at in ended.items() if at <= now}
        for member_id, at in due.items():
            ledger.bring_expiry_forward(session, member_id, at)
        if not due:
            return 0
        days = f"{inactive_after.months} months" if inactive_after.months else f"{inactive_after.days} days"
        return expire_due_lots(session, sorted(due), now, rules.version,
                               reason=f"no earning or spending for {days}")

    return sweep(session, window, process, batch_size=batch_size, max_batches=max_batches)


def last_activity():
    """The member's latest earning or spending (correlated to ``Member``)."""
    earned_or_spent = LedgerEntry.type.in_(("earn", "redeem")) | (
        (LedgerEntry.type == "adjust") & (LedgerEntry.points > 0))
    return (select(func.max(LedgerEntry.created_at))
            .where(LedgerEntry.member_id == Member.id, earned_or_spent)
            .scalar_subquery())
