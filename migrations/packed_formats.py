"""The packed formats releases up to migration 0016 wrote, frozen for the revisions that convert them.

The app stores plain JSON since 0017 and no longer knows these formats; the
revisions that wrote them (0009-0016) and the one that unpacks them (0017)
must keep meaning what they meant, so their code lives here, copied as the
release at 0016 had it (``loyalty/db/types.py``, ``loyalty/services/
explanations.py``, ``loyalty/models/idempotency.py`` and ``member_of`` of
``loyalty/http/idempotency.py``). Nothing here may change: values already
packed are only readable with these exact dictionaries.

A packed value's first byte says how it was packed: 0x78 opens a plain zlib
stream (migration 0009 wrote those), ``RAW_DEFLATE`` is raw deflate against
``DICTIONARY`` (or, for idempotency answers, ``ANSWER_DICTIONARY``), and
``VERSION_DEFLATE`` an explanation deflated against its rules version's
dictionary (``rules_versions.explanation_dictionary``, 0014-0016).
"""

import json
import zlib

#: What packed values are deflated against (the JSON shapes and the engine's explanation wording).
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

RAW_DEFLATE = b"\x01"
VERSION_DEFLATE = b"\x02"

_MEMBER = (
    '{"id":"mem_","external_id":"","email":"","phone":null,"first_name":null,"last_name":null,'
    '"birthday":null,"email_opt_in":false,"channel":null,"stripe_customer_id":null,"status":"active",'
    '"enrolled_at":"","referral_code":"","referred_by_member_id":null,"points":{"balance":,"pending":0,'
    '"lifetime_earned":,"lifetime_redeemed":0,"expiring_soon":[]},"tier":{"id":"","name":"",'
    '"multiplier":1.0,"since":"","expires_at":null,"qualifying_points":,"next":{"id":"","name":"",'
    '"points_needed":}},"lifecycle_stage":"'
)

#: What stored idempotency answers are deflated against (migrations 0011-0016).
ANSWER_DICTIONARY = "".join((
    '{"error":{"code":"member_inactive","message":"Member  is erased.","details":{}}}',
    'enrolled","lifecycle_stage":"first_purchase","lifecycle_stage":"advocate","lifecycle_stage":"lapsing","lapsed',
    '{"id":"rdm_","reward_id":"","member_id":"mem_","points_spent":,"code":"","status":"issued","issued_at":"',
    '","expires_at":"","completed_at":null,"voided_at":null,"stripe_promotion_code":null}',
    '{"transaction":{"id":"txn_","type":"adjust","points":,"balance_after":,"rule_id":null,"event_id":null,',
    '"redemption_id":null,"reason":"","actor":"","rules_version":,"created_at":"","expires_at":""},"member":',
    _MEMBER, 'repeat"}}',
    '{"id":"ref_","event_id":"evt_","amount":,"reversed_points":,"member":', _MEMBER, 'repeat"}}',
)).encode("utf-8") + DICTIONARY + "".join((
    '{"event":{"id":"evt_","type":"purchase","member_id":"mem_","source_id":"","occurred_at":"","amount":,',
    '"currency":"","rules_version":},"awarded":[{"rule_id":"","member_id":"mem_","points":,"status":"active",',
    '"available_at":"","expires_at":""},{"rule_id":"","member_id":"mem_","points":,"status":"active",',
    '"available_at":"","expires_at":""}],"explanation":[{"rule_id":"","matched":true,"points":,',
    '"reason":"1 point per $1 on $ = points"},{"rule_id":"","matched":false,"points":0,"reason":""}],',
    '"member":', _MEMBER, 'repeat"}}',
)).encode("utf-8")


class DictionaryMissing(LookupError):
    """A value packed against a rules version's dictionary, read without that dictionary."""


def deflate(data: bytes, dictionary: bytes, format_byte: bytes = RAW_DEFLATE) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=dictionary)
    return format_byte + packer.compress(data) + packer.flush()


def inflate(packed: bytes, dictionary: bytes) -> bytes:
    unpacker = zlib.decompressobj(-15, zdict=dictionary)
    return unpacker.decompress(packed) + unpacker.flush()


def compact_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def zlib_json(value) -> bytes:
    """As migration 0009 packed explanations (and 0010 items and attributes): a plain zlib stream."""
    return zlib.compress(compact_json(value), 9)


def pack_json(value) -> bytes:
    return deflate(compact_json(value), DICTIONARY)


def unpack_json(packed: bytes):
    packed = bytes(packed)
    if packed[:1] == RAW_DEFLATE:
        return json.loads(inflate(packed[1:], DICTIONARY))
    return json.loads(zlib.decompress(packed))


def needs_dictionary(packed: bytes) -> bool:
    return bytes(packed[:1]) == VERSION_DEFLATE


def pack_explanation(lines: list[dict], dictionary: bytes | None) -> bytes:
    """An explanation as 0014-0016 stored it: against its rules version's dictionary, if it had one."""
    if dictionary is None:
        return pack_json(lines)
    return deflate(compact_json(lines), dictionary, VERSION_DEFLATE)


def unpack_explanation(packed: bytes, dictionary: bytes | None) -> list[dict]:
    packed = bytes(packed)
    if not needs_dictionary(packed):
        return unpack_json(packed)
    if dictionary is None:
        raise DictionaryMissing("this explanation was packed against its rules version's dictionary")
    return json.loads(inflate(packed[1:], dictionary))


def pack_answer(body: str) -> bytes:
    return deflate(body.encode("utf-8"), ANSWER_DICTIONARY)


def unpack_answer(packed: bytes) -> str:
    packed = bytes(packed)
    if packed[:1] != RAW_DEFLATE:
        raise ValueError(f"unknown packing {packed[:1]!r} of a stored answer")
    return inflate(packed[1:], ANSWER_DICTIONARY).decode("utf-8")


def member_of(body) -> str | None:
    """The one member a stored answer is about, as migration 0011 read it from the answer."""
    if not isinstance(body, dict):
        return None
    member = body.get("member")
    if isinstance(member, dict) and isinstance(member.get("id"), str):
        return member["id"]
    if isinstance(body.get("member_id"), str):
        return body["member_id"]
    if isinstance(body.get("id"), str) and body["id"].startswith("mem_"):
        return body["id"]
    return None
