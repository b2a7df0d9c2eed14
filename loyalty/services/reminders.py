"""Reminders for a merchant's systems: points about to expire, a tier hold about to end.

Each is sent once: a row in ``expiry_reminders`` (per lot) or
``tier_reminders`` (per member and hold end) is inserted with ON CONFLICT DO
NOTHING in the batch that emits the webhook, so a rerun, a late run or two
hosts at once send nothing twice.
"""

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty import outbox
from loyalty.db.transactions import write_transaction
from loyalty.models import ExpiryReminder, Lot, Member, TierReminder
from loyalty.services.sweep import SweepResult


def _insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def remind_expiring_points(session: Session, now: datetime, notice: timedelta, *,
                           batch_size: int = 1000) -> SweepResult:
    """``points.expiring`` for each spendable lot that expires within ``notice``, once per lot."""
    due = (select(Lot.id, Lot.member_id, Lot.remaining, Lot.expires_at)
           .where(Lot.status == "active", Lot.remaining > 0, Lot.expires_at > now, Lot.expires_at <= now + notice,
                  ~exists().where(ExpiryReminder.lot_id == Lot.id))
           .order_by(Lot.id).limit(batch_size))

    def send(lot, endpoints) -> bool:
        if not _claimed(session, _insert(session)(ExpiryReminder).values(lot_id=lot.id, sent_at=now)
                        .on_conflict_do_nothing(index_elements=["lot_id"])):
            return False
        outbox.emit(session, "points.expiring", lot.member_id, {
            "member_id": lot.member_id, "lot_id": lot.id, "points": lot.remaining,
            "expires_at": lot.expires_at}, now, endpoints=endpoints)
        return True

    return _send_in_batches(session, due, batch_size, send)


def remind_expiring_tiers(session: Session, now: datetime, notice: timedelta, *,
                          batch_size: int = 1000) -> SweepResult:
    """``tier.expiring`` for each member whose tier hold ends within ``notice``, once per hold."""
    due = (select(Member.id, Member.tier_id, Member.tier_expires_at)
           .where(Member.status == "active", Member.tier_expires_at > now, Member.tier_expires_at <= now + notice,
                  ~exists().where(TierReminder.member_id == Member.id,
                                  TierReminder.expires_at == Member.tier_expires_at))
           .order_by(Member.id).limit(batch_size))

    def send(member, endpoints) -> bool:
        if not _claimed(session, _insert(session)(TierReminder).values(
                member_id=member.id, tier_id=member.tier_id, expires_at=member.tier_expires_at, sent_at=now)
                .on_conflict_do_nothing(index_elements=["member_id", "expires_at"])):
            return False
        outbox.emit(session, "tier.expiring", member.id, {
            "member_id": member.id, "tier": member.tier_id, "expires_at": member.tier_expires_at},
            now, endpoints=endpoints)
        return True

    return _send_in_batches(session, due, batch_size, send)


def _send_in_batches(session: Session, due, batch_size: int, send) -> SweepResult:
    """``send`` each row ``due`` selects (at most ``batch_size``), a committed batch at a time, until a
    batch comes back short; ``send`` says whether it sent (a claim another run made first: no)."""
    result = SweepResult()
    while True:
        with write_transaction(session):
            rows = session.execute(due).all()
            endpoints = outbox.subscribed_endpoints(session)
            result.done += sum(send(row, endpoints) for row in rows)
        result.batches += 1
        if len(rows) < batch_size:
            return result


def _claimed(session: Session, statement) -> bool:
    return session.execute(statement.execution_options(preserve_rowcount=True)).rowcount == 1
