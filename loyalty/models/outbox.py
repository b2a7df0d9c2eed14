from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loyalty import clock
from loyalty.db.types import BigIntKey, UTCDateTime
from loyalty.extensions import db

DELIVERY_STATUSES = ("pending", "succeeded", "failed", "cancelled")


class WebhookEndpoint(db.Model):
    """A merchant's URL subscribed to some event types; deleted ones are kept for the delivery log.

    The secret is stored as given out because signing needs it; after a rotation
    the previous one keeps signing alongside (a second ``v1=``) for a grace period.
    """

    __tablename__ = "webhook_endpoints"

    seq: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    url: Mapped[str] = mapped_column(String(2048), nullable=False)
    events = mapped_column(JSON, nullable=False)
    description: Mapped[str | None] = mapped_column(String(255))
    secret: Mapped[str] = mapped_column(String(128), nullable=False)
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_expires_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(100))
    deleted_at = mapped_column(UTCDateTime)
    #: Failed requests in a row; while ``paused_until`` is ahead nothing is sent to the endpoint.
    failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    paused_until = mapped_column(UTCDateTime)


class OutboxEvent(db.Model):
    """Something that happened, written in the same transaction as the change it describes.

    ``seq`` orders a member's events: they are written under the member's row
    lock, so a later seq is always a later change.
    """

    __tablename__ = "outbox_events"

    seq: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    member_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"), index=True)
    data = mapped_column(JSON, nullable=False)
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)


class WebhookDelivery(db.Model):
    """One event on its way to one endpoint: retried with backoff until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_member_order", "endpoint_id", "member_id", "status", "event_seq"),
        Index("ix_webhook_deliveries_endpoint_seq", "endpoint_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), nullable=False)
    event_seq: Mapped[int] = mapped_column(ForeignKey("outbox_events.seq"), nullable=False)
    member_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at = mapped_column(UTCDateTime, nullable=False)
    #: A worker that claimed the delivery owns it until then; past it, another may resend.
    locked_until = mapped_column(UTCDateTime)
    give_up_at = mapped_column(UTCDateTime, nullable=False)
    last_attempt_at = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)

    event = relationship(OutboxEvent, lazy="joined")


class WebhookAttempt(db.Model):
    """One HTTP request of a delivery and what came back: the delivery log."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    delivery_seq: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.seq"), index=True, nullable=False)
    attempted_at = mapped_column(UTCDateTime, nullable=False)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
