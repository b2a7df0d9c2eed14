from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.extensions import db
from loyalty.models.types import UTCDateTime


class IdempotencyRecord(db.Model):
    """The first response to a keyed request, replayed byte for byte on retries.

    Written in the same transaction as the change it answers, so a request is
    either applied and recorded, or neither.
    """

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False, index=True)
