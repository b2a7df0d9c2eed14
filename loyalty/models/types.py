"""Column types that behave the same on SQLite and PostgreSQL."""

import json
import zlib
from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary
from sqlalchemy.types import TypeDecorator

#: An auto-incrementing 64-bit key; SQLite only auto-increments ``INTEGER PRIMARY KEY``.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")


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


class PackedJSON(TypeDecorator):
    """JSON stored zlib-compressed: for large, write-once values never queried by content.

    An event's explanation is a few hundred bytes of repetitive English; packed
    it takes less than half the space, which matters on a table that grows
    with every purchase.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return pack_json(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return json.loads(zlib.decompress(value))


def pack_json(value) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 9)
