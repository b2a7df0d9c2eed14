from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from loyalty import clock
from loyalty.db.types import BigIntKey, UTCDateTime
from loyalty.extensions import db


class RulesVersion(db.Model):
    """A published program: immutable, identified by number and content hash."""

    __tablename__ = "rules_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    yaml: Mapped[str] = mapped_column(Text, nullable=False)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    published_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    published_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class RulesActivation(db.Model):
    """The active version is the latest activation; a rollback is a new one."""

    __tablename__ = "rules_activations"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(ForeignKey("rules_versions.version"), nullable=False)
    activated_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)
    activated_by: Mapped[str | None] = mapped_column(String(100))
