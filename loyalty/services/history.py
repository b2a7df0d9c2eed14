"""A member's ledger, newest first."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.db.pagination import decode_cursor, encode_cursor
from loyalty.errors import NotFound, ValidationFailed
from loyalty.models import LedgerEntry, Member


def entries(session: Session, member_id: str, limit: int = 20, cursor: str | None = None,
            entry_type: str | None = None):
    if session.get(Member, member_id) is None:
        raise NotFound(f"No member {member_id}.")
    query = select(LedgerEntry).where(LedgerEntry.member_id == member_id)
    if entry_type is not None:
        query = query.where(LedgerEntry.type == entry_type)
    after = decode_cursor(cursor)
    if after is not None:
        if len(after) != 1 or type(after[0]) is not int:
            raise ValidationFailed({"cursor": ["not a cursor this service issued"]})
        query = query.where(LedgerEntry.seq < after[0])
    rows = session.scalars(query.order_by(LedgerEntry.seq.desc()).limit(limit + 1)).all()
    page = rows[:limit]
    return page, (encode_cursor(page[-1].seq) if len(rows) > limit else None)
