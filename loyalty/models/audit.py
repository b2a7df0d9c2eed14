from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import JSONDocument, UTCDateTime
from loyalty.extensions import db


class AuditRecord(db.Model):
    """Who changed the program, a member's points or the keys, when, and why. Never edited: the database
    refuses to update or delete a row (migration 0019)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    actor: Mapped[str | None] = mapped_column(String(100))
    #: publish, rollback, adjustment, key_created, key_revoked, erasure
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    #: What it was done to: "rules version 3", a member id, a key's name.
    target: Mapped[str] = mapped_column(String(255), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    details = mapped_column(JSONDocument())
