"""The audit log: every publish, rollback, adjustment, key created or revoked and erasure, with who, when,
what and why. Written in the transaction of the change it records, so one never lands without the other."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.db.pagination import decode_cursor, encode_cursor
from loyalty.errors import ValidationFailed
from loyalty.ids import new_id
from loyalty.models import AuditRecord

ACTIONS = ("publish", "rollback", "adjustment", "key_created", "key_revoked", "erasure", "merge", "transfer")


def record(session: Session, actor: str | None, action: str, target: str, now: datetime, note: str | None = None,
           details: dict | None = None) -> AuditRecord:
    if action not in ACTIONS:
        raise ValueError(f"not an audited action: {action!r}")
    row = AuditRecord(id=new_id("aud"), at=now, actor=actor, action=action, target=target, note=note,
                      details=details or None)
    session.add(row)
    return row


def entries(session: Session, limit: int, cursor: str | None = None,
            action: str | None = None) -> tuple[list[AuditRecord], str | None]:
    """Newest first, ``limit`` at a time."""
    query = select(AuditRecord)
    if action:
        query = query.where(AuditRecord.action == action)
    after = decode_cursor(cursor)
    if after is not None:
        try:
            at, last_id = datetime.fromisoformat(after[0]), str(after[1])
        except (IndexError, TypeError, ValueError):
            raise ValidationFailed({"cursor": ["not a cursor this service issued"]}) from None
        query = query.where((AuditRecord.at < at) | ((AuditRecord.at == at) & (AuditRecord.id < last_id)))
    rows = session.scalars(query.order_by(AuditRecord.at.desc(), AuditRecord.id.desc()).limit(limit + 1)).all()
    last = rows[limit - 1] if len(rows) > limit else None
    return rows[:limit], (encode_cursor(last.at.isoformat(), last.id) if last else None)
