from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import BigIntKey, JSONDocument, UTCDateTime
from loyalty.extensions import db


class ChallengeEntry(db.Model):
    """What one event added to a member's challenge: counted in its window, taken back by a whole refund."""

    __tablename__ = "challenge_entries"
    __table_args__ = (
        Index("ix_challenge_entries_member_day", "member_id", "challenge_id", "day"),
        Index("ix_challenge_entries_event", "event_id"),
        CheckConstraint("status IN ('active', 'taken_back')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), nullable=False)
    challenge_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), nullable=False)
    day = mapped_column(Date, nullable=False)
    #: The calendar period it counts in (2026-11), or its day for a rolling window.
    period_key: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    #: The categories of the event's items the challenge counted, a JSON list.
    categories = mapped_column(JSONDocument())
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    taken_back_at = mapped_column(UTCDateTime)


class ChallengeCompletion(db.Model):
    """A member's completion of a challenge: once ever ("once"), or once per period key when it repeats."""

    __tablename__ = "challenge_completions"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    challenge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), nullable=False)
    completed_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)


class MemberBadge(db.Model):
    """A badge a member earned, once, and what gave it (``challenge:<id>``)."""

    __tablename__ = "member_badges"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    badge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(80), nullable=False)
    earned_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
