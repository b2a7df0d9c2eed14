from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import BigIntKey, UTCDateTime
from loyalty.extensions import db


class TierChange(db.Model):
    __tablename__ = "tier_changes"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True, nullable=False)
    from_tier: Mapped[str | None] = mapped_column(String(64))
    to_tier: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)  # upgrade | requalify | downgrade
    event_id: Mapped[str | None] = mapped_column(String(32))
    changed_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
