from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import BigIntKey, UTCDateTime
from loyalty.extensions import db

ENTRY_TYPES = ("earn", "redeem", "void", "reverse", "expire", "adjust", "merge", "transfer")


class LedgerEntry(db.Model):
    """One immutable change of a member's points. Never updated, never deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_member_seq", "member_id", "seq"),
        # Reports sum entries by time window. Entries are appended in time order and never change, so
        # on PostgreSQL a BRIN index (a few pages per million rows) finds a window as well as a B-tree.
        Index("ix_ledger_entries_created_at", "created_at", postgresql_using="brin",
              postgresql_with={"autosummarize": "on"}),
        CheckConstraint(
            "type IN ('earn', 'redeem', 'void', 'reverse', 'expire', 'adjust', 'merge', 'transfer')", name="entry_type"
        ),
    )

    seq: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    #: The public id: 80 random bits, never looked up, so not indexed (a unique index cost 80 bytes per accrual).
    id: Mapped[str] = mapped_column(String(32), nullable=False)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    balance_after: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rule_id: Mapped[str | None] = mapped_column(String(64))
    #: Not indexed: nothing looks entries up by event (refunds and event pages go through lots).
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"))
    redemption_id: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(100))
    rules_version: Mapped[int | None] = mapped_column(Integer)
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    expires_at = mapped_column(UTCDateTime)


class Lot(db.Model):
    """Points that arrived together and expire together; debits draw them down.

    A lot does not name its ledger entry (that column and its foreign key
    cost 16 bytes and a check per lot, and nothing read it): an award's lot
    and its ``earn`` entry share member, event and rule; an adjustment's
    lot and its ``adjust`` entry share member and time.
    """

    __tablename__ = "lots"
    __table_args__ = (
        Index("ix_lots_member_expiry", "member_id", "expires_at"),
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_in_range"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), nullable=False)
    #: Not indexed (57 bytes per accrual): an event's lots are found among its member's and its
    #: member's referrer's, by ``ix_lots_member_expiry``.
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"))
    rule_id: Mapped[str | None] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    remaining: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # pending | active
    spend_based: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    available_at = mapped_column(UTCDateTime, nullable=False)
    expires_at = mapped_column(UTCDateTime)
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)


class LotDraw(db.Model):
    """Which lots a debit entry took its points from, so a void can put them back."""

    __tablename__ = "lot_draws"

    entry_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)


class RuleUsage(db.Model):
    """How much of a rule's limit or a cap a member used in one period longer than a day.

    Lives in the database, not in process memory, so every app process sees
    the same counts; it is read and written under the member's row lock.
    """

    __tablename__ = "rule_usage"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    counter_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class MemberDay(db.Model):
    """One member's counters of one program-timezone day: one row per member-day an accrual touches.

    ``qualifying_points`` are summed over the trailing tier window. ``usage``
    holds the day's rule limits and caps (those ``per: day``) as compact JSON,
    ``{counter_id: used}``; counters of longer periods stay in ``rule_usage``.
    Both in one row because each was a row of its own per accrual.
    """

    __tablename__ = "member_days"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    day = mapped_column(Date, primary_key=True)
    qualifying_points: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    usage: Mapped[str | None] = mapped_column(Text)


class QualifyingPoints(db.Model):
    """Legacy: tier-qualifying points per member-day as releases before migration 0015 write them.

    Nothing of this release reads it: the migration moved its rows into
    ``member_days``, and ``purge-counters`` moves what an older process wrote
    during a rolling upgrade. A later release drops it.
    """

    __tablename__ = "qualifying_points"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    day = mapped_column(Date, primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
