from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import JSONDocument, UTCDateTime
from loyalty.extensions import db


class Event(db.Model):
    """A customer action as the till reported it, with what the rules made of it."""

    __tablename__ = "events"
    __table_args__ = (
        # Events arrive in about the order they occurred (a till's backlog is at most 90 days old),
        # so on PostgreSQL a BRIN index finds a backtest's window for a few pages per million rows.
        Index("ix_events_occurred_at", "occurred_at", postgresql_using="brin",
              postgresql_with={"autosummarize": "on"}),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True, nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    source_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    occurred_at = mapped_column(UTCDateTime, nullable=False)
    recorded_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    store_id: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str | None] = mapped_column(String(32))
    items = mapped_column(JSONDocument())
    attributes = mapped_column(JSONDocument())
    rules_version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The engine's facts, an object keyed by rule id (``loyalty.engine.explanation``), put into
    #: words when read (``loyalty.services.events``).
    explanation = mapped_column(JSONDocument(binary=False), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(100))

    #: Points its spend rules gave the member: what refunds reverse in proportion.
    refundable_points: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    reversed_points: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)


class Refund(db.Model):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), index=True, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reversed_points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(100))
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
