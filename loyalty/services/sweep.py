"""Walking the members a job step has work for, one committed batch at a time.

A step supplies two functions: ``window`` picks the next candidates after a
cursor (without locking) and returns the cursor after them; ``process`` does
the work for the members this run managed to lock. Each batch is one write
transaction, so a run killed halfway leaves whole batches done and the rest
for the next run, which finds them again: ``window`` only ever finds work
not yet done.

Locking: on PostgreSQL the candidates are locked with ``FOR UPDATE SKIP
LOCKED`` in id order, the same row locks the accrual and redemption paths
take, so nothing else changes those members' points meanwhile. Members held
elsewhere (another host's job, a till) are skipped; when a pass skipped
any, another pass starts from the beginning, and finds only what is still
undone, so two runs started together share the work and never do it twice.
On SQLite the write transaction (``BEGIN IMMEDIATE``) already serializes
every writer.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import String, any_, literal, select, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from loyalty.db.transactions import write_transaction
from loyalty.models import Member

#: Passes over the work while some members were held elsewhere, and the pause between them.
PASSES = 20
PAUSE = 0.05

Window = Callable[[Session, object, int], tuple[Sequence[str], object]]
Process = Callable[[Session, list[str]], int]


@dataclass
class SweepResult:
    """`done`: what the step counted (lots, members…); `busy`: members left for the next run."""

    done: int = 0
    batches: int = 0
    busy: int = 0
    stopped: bool = False


def sweep(session: Session, window: Window, process: Process, *, batch_size: int,
          max_batches: int | None = None) -> SweepResult:
    """Run ``process`` over every batch ``window`` yields; ``max_batches`` stops early (a kill, in tests)."""
    result = SweepResult()
    for number in range(PASSES):
        if number:
            time.sleep(PAUSE)
        cursor, skipped = None, set()
        while True:
            if max_batches is not None and result.batches >= max_batches:
                result.stopped = True
                return result
            with write_transaction(session):
                candidates, cursor = window(session, cursor, batch_size)
                if not candidates:
                    break
                locked = lock_available(session, candidates)
                skipped.update(set(candidates) - set(locked))
                if locked:
                    result.done += process(session, locked)
                session.flush()  # expire_all() would drop changes not yet flushed
                session.expire_all()
            result.batches += 1
        result.busy = len(skipped)
        if not skipped:
            break
    return result


def lock_available(session: Session, member_ids: Sequence[str]) -> list[str]:
    """Lock the members nobody else holds (all of them on SQLite), in id order."""
    ids = sorted(set(member_ids))
    if session.get_bind().dialect.name != "postgresql":
        return ids
    return list(session.scalars(
        select(Member.id).where(Member.id == any_(literal(ids, ARRAY(String))))
        .order_by(Member.id).with_for_update(skip_locked=True)
    ))


def keyset_after(cursor, *columns):
    """The condition "after `cursor`" on the sort `columns` (None: from the start)."""
    if cursor is None:
        return true()
    return _row(columns) > _row(columns, cursor)


def _row(columns, values=None):
    if values is None:
        return columns[0] if len(columns) == 1 else tuple_(*columns)
    typed = [literal(value, column.type) for value, column in zip(values, columns, strict=True)]
    return typed[0] if len(typed) == 1 else tuple_(*typed)
