"""Re-dating earned lots when a new expiry policy says ``redate_earned: true``.

Lots keep the expiry computed when they were earned, so changing the policy
only affects points earned afterwards. A marketer who wants the new policy
to apply to every point still held says so in the YAML; the jobs then walk
the lots once for that rules version, in id order, recomputing each lot's
``expires_at`` from when it was earned (the event's ``occurred_at``, or the
lot's creation for adjustments) under the current rules. Progress is
committed with every batch (``lot_redatings``), so a killed run resumes.
"""

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty import ledger
from loyalty.db.transactions import lock_members, write_transaction
from loyalty.models import Event, Lot, LotRedating
from loyalty.services.rules import active_rules
from loyalty.services.sweep import SweepResult

BATCH_SIZE = 2000


def redate_lots(session: Session, now: datetime, *, batch_size: int = BATCH_SIZE,
                max_batches: int | None = None) -> SweepResult:
    """Re-date held lots to the active policy, once per rules version that asks; counts lots moved."""
    rules = active_rules(session)
    program = rules.program
    result = SweepResult()
    if program.expiry is None or not program.expiry.redate_earned:
        return result
    while max_batches is None or result.batches < max_batches:
        with write_transaction(session):
            progress = _progress(session, rules.version, now)
            if progress.finished_at is not None:
                return result
            rows = session.execute(
                select(Lot.id, Lot.member_id, Lot.rule_id, Lot.expires_at, Lot.created_at, Event.occurred_at)
                .outerjoin(Event, Event.id == Lot.event_id)
                .where(Lot.id > progress.last_lot_id, or_(Lot.status == "pending", Lot.remaining > 0))
                .order_by(Lot.id).limit(batch_size)
            ).all()
            if not rows:
                progress.finished_at = now
                return result
            lock_members(session, {row.member_id for row in rows})
            moves = []
            for row in rows:
                expires_at = _expiry(program, row.occurred_at or row.created_at, row.rule_id)
                if expires_at != row.expires_at:
                    moves.append({"lot_id": row.id, "new_expiry": expires_at})
            ledger.redate(session, moves)
            progress.last_lot_id = rows[-1].id
            progress.lots += len(moves)
            result.done += len(moves)
        result.batches += 1
    result.stopped = True
    return result


def _progress(session: Session, version: int, now: datetime) -> LotRedating:
    """This version's progress row, locked (two hosts re-dating take turns, batch by batch)."""
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert
    session.execute(insert(LotRedating).values(rules_version=version, last_lot_id=0, lots=0, started_at=now)
                    .on_conflict_do_nothing(index_elements=["rules_version"]))
    return session.scalars(
        select(LotRedating).where(LotRedating.rules_version == version)
        .with_for_update().execution_options(populate_existing=True)
    ).one()


def _expiry(program, earned_at: datetime, rule_id: str | None) -> datetime | None:
    """The rule's policy if the program still has the rule, else the program's."""
    try:
        return program.expires_at(earned_at, rule_id)
    except KeyError:
        return program.expires_at(earned_at)
