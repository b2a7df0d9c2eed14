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
    """JSON stored deflated: for write-once values never queried by content.

    An event's items are a few bytes of JSON keys, its attributes a few
    more; packed with a preset dictionary of those words they take about a
    third of the space, which matters on a table that grows with every
    purchase. A value reads back exactly as it was written. (Explanations
    were packed so too until migration 0014; see ``loyalty.explanations``.)
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
        return unpack_json(value)


#: What packed values are deflated against: the JSON shapes and the engine's explanation wording
#: (loyalty/engine), never one program's rule ids, tiers or dates; the most frequent last. Values
#: written with it can only be read with it, so it never changes; a better one would be a new
#: format byte (and ``unpack_json`` keeps reading both).
DICTIONARY = "".join((
    "Referrer and member share an email address",
    "no referrer on record, so no referrer points",
    "the referrer's account is suspended, so the referrer gets nothing",
    "the referrer's cap of  referrals per calendar year is reached, so the referrer gets nothing",
    " for the referrer mem_",
    " for this member",
    "Nothing to award",
    "Condition not met: amount must be at least $",
    "Only on Mon, Tue, Wed, Thu, Fri, Sat, Sun (); this  event was on a Saturday",
    "Already awarded once for this member",
    "Limit of  per calendar month reached",
    "Lifetime cap of  points for  reached:  already earned so far,  awarded of ",
    "Yearly cap of  this year. Monthly cap of  this month. Weekly cap of  this week. ",
    "Daily cap of  points for  reached:  already earned today,  awarded of ",
    "No items in this purchase",
    "No items in category ",
    " multiplier = ",
    "Member did not enrol with a referral code",
    "Only from  to  (); this purchase was on ",
    '[{"sku":"","category":"","quantity":1,"unit_amount":}]',
    ' items = 1 point',
    ' points per $1 on $',
    '[{"rule_id":"","matched":true,"points":',
    ',"reason":"1 point per $1 on $',
    ' points"},{"rule_id":"',
    '","matched":false,"points":0,"reason":"',
    '","matched":true,"points":',
)).encode("utf-8")

#: The first byte of a packed value says how it was packed. 0x78 opens a plain zlib stream
#: (migration 0009 wrote those); RAW_DEFLATE is raw deflate against DICTIONARY; 0x02 is an
#: explanation deflated against its rules version's dictionary (``loyalty.explanations``).
RAW_DEFLATE = b"\x01"


def deflate(data: bytes, dictionary: bytes, format_byte: bytes = RAW_DEFLATE) -> bytes:
    """``format_byte`` then ``data`` raw-deflated against ``dictionary``."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=dictionary)
    return format_byte + packer.compress(data) + packer.flush()


def inflate(packed: bytes, dictionary: bytes) -> bytes:
    """What ``deflate`` packed (``packed`` without its format byte)."""
    unpacker = zlib.decompressobj(-15, zdict=dictionary)
    return unpacker.decompress(packed) + unpacker.flush()


def compact_json(value) -> bytes:
    """``value`` as the compact UTF-8 JSON that packed values deflate (and dictionaries are made of)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def pack_json(value) -> bytes:
    return deflate(compact_json(value), DICTIONARY)


def unpack_json(packed: bytes):
    packed = bytes(packed)
    if packed[:1] == RAW_DEFLATE:
        return json.loads(inflate(packed[1:], DICTIONARY))
    return json.loads(zlib.decompress(packed))
