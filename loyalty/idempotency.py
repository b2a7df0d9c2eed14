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
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty.errors import IdempotencyConflict
from loyalty.models import IdempotencyRecord
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


def run_once(session: Session, scope: str, key: str, request_fingerprint: str, now: datetime,
             work: Callable[[], tuple[int, str]]) -> StoredResponse:
    """Run ``work`` (which returns status and JSON body) at most once per key, in one transaction."""
    with write_transaction(session):
        insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert
        claimed = session.execute(
            insert(IdempotencyRecord)
            .values(scope=scope, key=key, fingerprint=request_fingerprint, created_at=now)
            .on_conflict_do_nothing(index_elements=["scope", "key"])
            .execution_options(preserve_rowcount=True)  # else psycopg reports -1 for an INSERT
        ).rowcount
        if not claimed:
            record = session.scalar(
                select(IdempotencyRecord)
                .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
                .execution_options(populate_existing=True)
            )
            if record.fingerprint != request_fingerprint:
                raise IdempotencyConflict(
                    "This Idempotency-Key was used with a different request.", {"key": key}
                )
            return StoredResponse(record.status_code, record.body, replayed=True)
        status, body = work()
        session.execute(
            IdempotencyRecord.__table__.update()
            .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
            .values(status_code=status, body=body)
        )
    return StoredResponse(status, body, replayed=False)
