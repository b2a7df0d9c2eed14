from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import UTCDateTime
from loyalty.extensions import db


class IdempotencyRecord(db.Model):
    """The first response to a keyed request, replayed byte for byte on retries.

    Written in the same transaction as the change it answers, so a request is
    either applied and recorded, or neither. ``body`` is the response's JSON
    text as sent (text, not JSON, so that a replay is the same bytes).
    ``member_id`` is the member the answer is about, so erasure can find
    answers it cannot read in place; it has no index: erasure is rare and
    scans only the retention window's rows.
    """

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: SHA-256 of the request, 32 raw bytes.
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False, index=True)
    member_id: Mapped[str | None] = mapped_column(String(32))
