from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import UTCDateTime
from loyalty.extensions import db

ALIAS_KINDS = ("external_id", "email")


class MemberAlias(db.Model):
    """An external id or email of a merged member, which now finds the member it was merged into."""

    __tablename__ = "member_aliases"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # external_id | email
    value: Mapped[str] = mapped_column(String(320), primary_key=True)
    #: The member it finds: the end of the merges, moved along when that member is merged in turn.
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True, nullable=False)
    #: The merged member it belonged to.
    merged_member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), nullable=False)
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)


class PointTransfer(db.Model):
    """Points one member gave another: a ``transfer`` entry on each side, and this row naming both."""

    __tablename__ = "point_transfers"
    __table_args__ = (Index("ix_point_transfers_from_created", "from_member_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    from_member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), nullable=False)
    to_member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True, nullable=False)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(100))
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
