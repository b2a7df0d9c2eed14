"""Idempotency keys: the first response to a keyed request, replayed on retries.

The key is claimed with an insert in the same transaction as the change.
Two racing requests with one key: on PostgreSQL the second insert waits for
the first transaction and then finds its row; on SQLite ``BEGIN IMMEDIATE``
has already queued it behind the first. Either way the second replays the
committed response. A request that fails rolls its claim back with it.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from loyalty.errors import IdempotencyConflict
from loyalty.models.types import UTCDateTime
from loyalty.transactions import write_transaction


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    replayed: bool


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Same request = same method, path and JSON body (key order and spacing ignored)."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


CLAIM = text(
    'INSERT INTO idempotency_records (scope, "key", fingerprint, created_at)'
    ' VALUES (:scope, :key, :fingerprint, :now) ON CONFLICT (scope, "key") DO NOTHING'
).bindparams(bindparam("now", type_=UTCDateTime)).execution_options(preserve_rowcount=True)
STORED = text('SELECT fingerprint, status_code, body FROM idempotency_records WHERE scope = :scope AND "key" = :key')
ANSWER = text(
    'UPDATE idempotency_records SET status_code = :status, body = :body WHERE scope = :scope AND "key" = :key')


def run_once(session: Session, scope: str, key: str, request_fingerprint: str, now: datetime,
             work: Callable[[], tuple[int, str]]) -> StoredResponse:
    """Run ``work`` (which returns status and JSON body) at most once per key, in one transaction."""
    names = {"scope": scope, "key": key}
    with write_transaction(session):
        claimed = session.execute(CLAIM, {**names, "fingerprint": request_fingerprint, "now": now}).rowcount
        if not claimed:
            record = session.execute(STORED, names).one()
            if record.fingerprint != request_fingerprint:
                raise IdempotencyConflict(
                    "This Idempotency-Key was used with a different request.", {"key": key}
                )
            return StoredResponse(record.status_code, record.body, replayed=True)
        status, body = work()
        session.execute(ANSWER, {**names, "status": status, "body": body})
    return StoredResponse(status, body, replayed=False)


PURGE_BATCH = text(
    'DELETE FROM idempotency_records WHERE (scope, "key") IN ('
    ' SELECT scope, "key" FROM idempotency_records WHERE created_at < :cutoff LIMIT :limit)'
).bindparams(bindparam("cutoff", type_=UTCDateTime)).execution_options(preserve_rowcount=True)


def purge_expired(session: Session, now: datetime, keep: timedelta, *, batch_size: int = 5000) -> int:
    """Forget keys older than ``keep``, a committed batch at a time; returns how many.

    The contract keeps keys at least 24 hours; after that a retry is a new
    request, and events stay unique by ``source_id`` for good.
    """
    if keep < timedelta(hours=24):
        raise ValueError("idempotency keys must be kept at least 24 hours")
    purged = 0
    while True:
        with write_transaction(session):
            done = session.execute(PURGE_BATCH, {"cutoff": now - keep, "limit": batch_size}).rowcount
        purged += done
        if done < batch_size:
            return purged
