from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import BigIntKey, UTCDateTime
from loyalty.extensions import db

STAMP_STATUSES = ("active", "taken_back")


class CardStamp(db.Model):
    """One stamp a purchase put on a member's card; a refund of the whole purchase takes it back.

    ``once_day`` is the program day a once-a-day card's stamp holds while it stands (NULL for a
    once-a-visit card and once taken back), so the unique index allows one stamp a day whatever
    the number of processes posting purchases.
    """

    __tablename__ = "card_stamps"
    __table_args__ = (
        Index("uq_card_stamps_once_a_day", "member_id", "card_id", "once_day", unique=True),
        Index("ix_card_stamps_event", "event_id"),
        CheckConstraint("status IN ('active', 'taken_back')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), nullable=False)
    card_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), nullable=False)
    day = mapped_column(Date, nullable=False)
    once_day = mapped_column(Date)
    #: The card's count after this stamp: 7 is "stamp 7 of 9".
    stamp: Mapped[int] = mapped_column(Integer, nullable=False)
    of: Mapped[int] = mapped_column(Integer, nullable=False)
    completes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: The code its completion issued.
    redemption_id: Mapped[str | None] = mapped_column(ForeignKey("redemptions.id"))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    taken_back_at = mapped_column(UTCDateTime)


class MemberCard(db.Model):
    """A member's progress on one card: the stamps on the current card and the cards completed.

    Changed only under the member's row lock, in the transaction of the event or refund that
    changes it. ``redemption_id``: the code of the current card while it shows complete.
    """

    __tablename__ = "member_cards"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    card_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stamps: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    completed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_stamp_day = mapped_column(Date)
    redemption_id: Mapped[str | None] = mapped_column(ForeignKey("redemptions.id"))
    updated_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
