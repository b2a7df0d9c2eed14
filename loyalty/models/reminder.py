from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import BigIntKey, UTCDateTime
from loyalty.extensions import db


class ExpiryReminder(db.Model):
    """A lot whose ``points.expiring`` was sent: its primary key makes it once per lot."""

    __tablename__ = "expiry_reminders"

    lot_id: Mapped[int] = mapped_column(BigIntKey, ForeignKey("lots.id"), primary_key=True)
    sent_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)


class TierReminder(db.Model):
    """A tier hold whose ``tier.expiring`` was sent: once per member and hold end."""

    __tablename__ = "tier_reminders"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tier_id: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at = mapped_column(UTCDateTime, primary_key=True)
    sent_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
