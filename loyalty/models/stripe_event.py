from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import UTCDateTime
from loyalty.extensions import db

#: What became of a Stripe event: ``processed`` changed points (or had nothing left to change);
#: ``pending`` is a refund waiting for its checkout; the rest are listed for an operator.
STRIPE_EVENT_STATUSES = ("processed", "pending", "unmatched", "unhandled", "ignored", "rejected")


class StripeEvent(db.Model):
    """One Stripe webhook event, keyed by Stripe's event id so a redelivery finds it.

    Inserting the row is what claims the event: a second delivery, even a racing
    one, hits the primary key and changes nothing.
    """

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    created_at = mapped_column(UTCDateTime, nullable=False)
    received_at = mapped_column(UTCDateTime, default=clock.now, nullable=False, index=True)
    handled_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)

    object_id: Mapped[str | None] = mapped_column(String(255))
    #: The payment intent (or checkout session) that ties a refund to its purchase.
    source_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    client_reference_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    #: amount_total of a checkout; the cumulative amount_refunded of a charge.
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))

    member_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"))
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"))
