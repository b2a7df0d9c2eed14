"""Walking the members a job step has work for, one committed batch at a time.

A step supplies two functions: ``window`` picks the next batch of candidate
members after a cursor (without locking) and says where the batch ends,
``process`` does the work for the members this run managed to lock. Each batch is one write transaction, so a
run killed halfway leaves whole batches done and the rest for the next run,
which finds them again because done work no longer matches ``window``.

Locking: on PostgreSQL the candidates are locked with ``FOR UPDATE SKIP
LOCKED`` in id order, the same row locks the accrual and redemption paths
take, so nothing else changes those members' points meanwhile. A member
another host's job (or a till) holds is skipped and tried again at the end
of the run, for a few rounds, so two runs started together share the work
and never do it twice. On SQLite the write transaction (``BEGIN IMMEDIATE``)
already serializes every writer.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import String, any_, literal, select, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from loyalty.models import Member
from loyalty.transactions import write_transaction

#: Rounds (and the pause between them) for members that were locked elsewhere.
RETRY_ROUNDS = 20
RETRY_PAUSE = 0.05



@dataclass(frozen=True)
class Batch:
    """Members to work on, and the window they came from: cursor positions (after, until].

    A retry of members that were busy has no window (``until`` None): all
    their due work is done then.
    """

    member_ids: list[str]
    after: object = None
    until: object = None


Window = Callable[[Session, object, int], tuple[Sequence[str], object]]
Process = Callable[[Session, Batch], int]


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
    cursor = None
    skipped: list[str] = []
    while True:
        if max_batches is not None and result.batches >= max_batches:
            result.stopped = True
            return result
        with write_transaction(session):
            candidates, until = window(session, cursor, batch_size)
            if not candidates:
                break
            locked = lock_available(session, candidates)
            skipped.extend(sorted(set(candidates) - set(locked)))
            if locked:
                result.done += process(session, Batch(locked, cursor, until))
            session.expire_all()
        cursor = until
        result.batches += 1
    for _ in range(RETRY_ROUNDS):
        if not skipped:
            break
        time.sleep(RETRY_PAUSE)
        still = []
        for start in range(0, len(skipped), batch_size):
            chunk = skipped[start:start + batch_size]
            with write_transaction(session):
                locked = lock_available(session, chunk)
                still.extend(sorted(set(chunk) - set(locked)))
                if locked:
                    result.done += process(session, Batch(locked))
                session.expire_all()
            result.batches += 1
        skipped = still
    result.busy = len(skipped)
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


def keyset_until(cursor, *columns):
    """The condition "at or before `cursor`" on the sort `columns` (None: no end)."""
    if cursor is None:
        return true()
    return _row(columns) <= _row(columns, cursor)


def _row(columns, values=None):
    if values is None:
        return columns[0] if len(columns) == 1 else tuple_(*columns)
    typed = [literal(value, column.type) for value, column in zip(values, columns, strict=True)]
    return typed[0] if len(typed) == 1 else tuple_(*typed)
