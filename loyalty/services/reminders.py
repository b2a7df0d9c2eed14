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
    result = SweepResult()
    due = (select(Lot.id, Lot.member_id, Lot.remaining, Lot.expires_at)
           .where(Lot.status == "active", Lot.remaining > 0, Lot.expires_at > now, Lot.expires_at <= now + notice,
                  ~exists().where(ExpiryReminder.lot_id == Lot.id))
           .order_by(Lot.id).limit(batch_size))
    while True:
        with write_transaction(session):
            lots = session.execute(due).all()
            endpoints = outbox.subscribed_endpoints(session)
            for lot in lots:
                if _claimed(session, _insert(session)(ExpiryReminder).values(lot_id=lot.id, sent_at=now)
                            .on_conflict_do_nothing(index_elements=["lot_id"])):
                    outbox.emit(session, "points.expiring", lot.member_id, {
                        "member_id": lot.member_id, "lot_id": lot.id, "points": lot.remaining,
                        "expires_at": lot.expires_at}, now, endpoints=endpoints)
                    result.done += 1
        result.batches += 1
        if len(lots) < batch_size:
            return result


def remind_expiring_tiers(session: Session, now: datetime, notice: timedelta, *,
                          batch_size: int = 1000) -> SweepResult:
    """``tier.expiring`` for each member whose tier hold ends within ``notice``, once per hold."""
    result = SweepResult()
    due = (select(Member.id, Member.tier_id, Member.tier_expires_at)
           .where(Member.status == "active", Member.tier_expires_at > now, Member.tier_expires_at <= now + notice,
                  ~exists().where(TierReminder.member_id == Member.id,
                                  TierReminder.expires_at == Member.tier_expires_at))
           .order_by(Member.id).limit(batch_size))
    while True:
        with write_transaction(session):
            members = session.execute(due).all()
            endpoints = outbox.subscribed_endpoints(session)
            for member in members:
                if _claimed(session, _insert(session)(TierReminder).values(
                        member_id=member.id, tier_id=member.tier_id, expires_at=member.tier_expires_at, sent_at=now)
                        .on_conflict_do_nothing(index_elements=["member_id", "expires_at"])):
                    outbox.emit(session, "tier.expiring", member.id, {
                        "member_id": member.id, "tier": member.tier_id, "expires_at": member.tier_expires_at},
                        now, endpoints=endpoints)
                    result.done += 1
        result.batches += 1
        if len(members) < batch_size:
            return result


def _claimed(session: Session, statement) -> bool:
    return session.execute(statement.execution_options(preserve_rowcount=True)).rowcount == 1
