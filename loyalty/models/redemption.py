from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import UTCDateTime
from loyalty.extensions import db

REDEMPTION_STATUSES = ("issued", "completed", "voided", "expired")


class Redemption(db.Model):
    """Points exchanged for a reward: a code the member shows at the till."""

    __tablename__ = "redemptions"
    __table_args__ = (
        Index("ix_redemptions_member_issued", "member_id", "issued_at"),
        Index("ix_redemptions_status_expires", "status", "expires_at"),
        CheckConstraint("status IN ('issued', 'completed', 'voided', 'expired')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), nullable=False)
    reward_id: Mapped[str] = mapped_column(String(64), nullable=False)
    points_spent: Mapped[int] = mapped_column(BigInteger, nullable=False)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    issued_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    completed_at = mapped_column(UTCDateTime)
    voided_at = mapped_column(UTCDateTime)
    #: The redeem entry whose lot draws a void puts back; none for a code a stamp card issued.
    entry_seq: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.seq"))
    #: The stamp card whose completion issued this code, at no point cost.
    card_id: Mapped[str | None] = mapped_column(String(64))
    stripe_promotion_code: Mapped[str | None] = mapped_column(String(255))
    stripe_coupon: Mapped[str | None] = mapped_column(String(255))
    rules_version: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(100))


class RewardStock(db.Model):
    """Units of a stocked reward held by issued or completed redemptions.

    Taken with a conditional UPDATE (``issued < stock``), so concurrent
    redemptions on any number of processes never oversell.
    """

    __tablename__ = "reward_stock"

    reward_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
