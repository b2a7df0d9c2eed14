"""What the scheduled jobs need from the schema: indexes that find due work, and progress."""

from sqlalchemy import BigInteger, Index, Integer, and_, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty.db.types import UTCDateTime
from loyalty.extensions import db
from loyalty.models.ledger import Lot
from loyalty.models.member import Member

#: Conditions written as literals, not parameters, so both databases can prove a query
#: matches the partial indexes below (neither can from ``remaining > ?``).
LOT_HOLDS_POINTS = and_(Lot.status == literal_column("'active'"), Lot.remaining > literal_column("0"))
LOT_PENDING = Lot.status == literal_column("'pending'")

#: Lots that still hold points, by expiry: the expiry job reads only the due end of it.
Index("ix_lots_due", Lot.expires_at, Lot.id,
      postgresql_where=text("status = 'active' AND remaining > 0"),
      sqlite_where=text("status = 'active' AND remaining > 0"))

#: Pending lots by the moment they become spendable.
Index("ix_lots_pending", Lot.available_at, Lot.id,
      postgresql_where=text("status = 'pending'"),
      sqlite_where=text("status = 'pending'"))

Index("ix_members_tier_expires_at", Member.tier_expires_at)


class LotRedating(db.Model):
    """Progress of moving earned lots to a policy that says ``redate_earned: true``.

    One row per rules version; lots are walked in id order and ``last_lot_id``
    is committed with each batch, so a killed run resumes where it stopped.
    """

    __tablename__ = "lot_redatings"

    rules_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_lot_id: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    lots: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    started_at = mapped_column(UTCDateTime, nullable=False)
    finished_at = mapped_column(UTCDateTime)
