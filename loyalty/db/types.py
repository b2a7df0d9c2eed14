"""Column types that behave the same on SQLite and PostgreSQL."""

import json
from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

#: An auto-incrementing 64-bit key; SQLite only auto-increments ``INTEGER PRIMARY KEY``.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")


class JSONDocument(TypeDecorator):
    """Data a shop's analyst queries with SQL's JSON operators; Python's None is SQL NULL, never JSON null.

    JSONB on PostgreSQL (containment, indexes); with ``binary=False`` its
    ``json``, the compact text as written, which reads the same but takes a
    fifth less room than JSONB for a document read whole (an explanation).
    JSON text on SQLite.
    """

    impl = JSON
    cache_ok = True

    def __init__(self, binary: bool = True):
        super().__init__(none_as_null=True)
        self.binary = binary

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            kind = postgresql.JSONB if self.binary else postgresql.JSON
            return dialect.type_descriptor(kind(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))

    def bind_processor(self, dialect):
        def compact(value):
            return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)

        return compact


class UTCDateTime(TypeDecorator):
    """Aware UTC in, aware UTC out; SQLite stores it naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
