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
from typing import NamedTuple

from sqlalchemy import Integer, LargeBinary, Text, bindparam, text
from sqlalchemy.orm import Session

from loyalty.db.transactions import write_transaction
from loyalty.db.types import UTCDateTime
from loyalty.errors import IdempotencyConflict


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    replayed: bool


class Answer(NamedTuple):
    """What a keyed request's work answered, and the member it is about (for erasure), if one."""

    status: int
    body: str
    member_id: str | None = None


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    """Same request = same method, path and JSON body (key order and spacing ignored); a SHA-256 digest."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).digest()


def member_of(body) -> str | None:
    """The one member a response body is about: its ``member``, its ``member_id``, or itself if a Member.

    An event's ``awarded`` may name a referrer too; that answer is still about
    the member who bought, and holds nothing personal of the referrer.
    """
    if not isinstance(body, dict):
        return None
    member = body.get("member")
    if isinstance(member, dict) and isinstance(member.get("id"), str):
        return member["id"]
    if isinstance(body.get("member_id"), str):
        return body["member_id"]
    if isinstance(body.get("id"), str) and body["id"].startswith("mem_"):
        return body["id"]
    return None


CLAIM = text(
    'INSERT INTO idempotency_records (scope, "key", fingerprint, created_at)'
    ' VALUES (:scope, :key, :fingerprint, :now) ON CONFLICT (scope, "key") DO NOTHING'
).bindparams(bindparam("fingerprint", type_=LargeBinary), bindparam("now", type_=UTCDateTime)
             ).execution_options(preserve_rowcount=True)
STORED = text(
    'SELECT fingerprint, status_code, body FROM idempotency_records WHERE scope = :scope AND "key" = :key'
).columns(fingerprint=LargeBinary, status_code=Integer, body=Text)
ANSWER = text(
    'UPDATE idempotency_records SET status_code = :status, body = :body, member_id = :member_id'
    ' WHERE scope = :scope AND "key" = :key'
)


def run_once(session: Session, scope: str, key: str, request_fingerprint: bytes, now: datetime,
             work: Callable[[], tuple[int, str] | Answer]) -> StoredResponse:
    """Run ``work`` at most once per key, in one transaction.

    ``work`` returns the status and JSON body, and may add the member they are about (an ``Answer``).
    """
    names = {"scope": scope, "key": key}
    with write_transaction(session):
        claimed = session.execute(CLAIM, {**names, "fingerprint": request_fingerprint, "now": now}).rowcount
        if not claimed:
            record = session.execute(STORED, names).one()
            if bytes(record.fingerprint) != request_fingerprint:
                raise IdempotencyConflict(
                    "This Idempotency-Key was used with a different request.", {"key": key}
                )
            return StoredResponse(record.status_code, record.body, replayed=True)
        status, body, member_id = Answer(*work())
        session.execute(ANSWER, {**names, "status": status, "body": body, "member_id": member_id})
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
