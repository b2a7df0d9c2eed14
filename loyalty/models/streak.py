from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import BigIntKey, UTCDateTime
from loyalty.extensions import db


class MemberStreak(db.Model):
    """A member's state on a streak (``loyalty.engine.streaks.StreakState``), as the last event left it."""

    __tablename__ = "member_streaks"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    streak_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    current: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    run: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    best: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    completed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: The start of the last period counted (a week's Monday, a month's first day).
    last_period = mapped_column(Date)
    updated_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)


class StreakEntry(db.Model):
    """An event that counted for a streak: ``gives`` for the one that counted its period, the others
    kept so that a refund of that one passes the period on; ``before_*``: the state it replaced."""

    __tablename__ = "streak_entries"
    __table_args__ = (
        Index("ix_streak_entries_member_period", "member_id", "streak_id", "period"),
        Index("ix_streak_entries_event", "event_id"),
        CheckConstraint("status IN ('active', 'taken_back')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), nullable=False)
    streak_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), nullable=False)
    period = mapped_column(Date, nullable=False)
    gives: Mapped[bool] = mapped_column(Boolean, nullable=False)
    completes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    before_current: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    before_run: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    before_best: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    before_last_period = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    taken_back_at = mapped_column(UTCDateTime)
