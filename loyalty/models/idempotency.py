from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from loyalty import clock
from loyalty.db.types import DICTIONARY as ENGINE_WORDING
from loyalty.db.types import RAW_DEFLATE, UTCDateTime, deflate, inflate
from loyalty.extensions import db

_MEMBER = (
    '{"id":"mem_","external_id":"","email":"","phone":null,"first_name":null,"last_name":null,'
    '"birthday":null,"email_opt_in":false,"channel":null,"stripe_customer_id":null,"status":"active",'
    '"enrolled_at":"","referral_code":"","referred_by_member_id":null,"points":{"balance":,"pending":0,'
    '"lifetime_earned":,"lifetime_redeemed":0,"expiring_soon":[]},"tier":{"id":"","name":"",'
    '"multiplier":1.0,"since":"","expires_at":null,"qualifying_points":,"next":{"id":"","name":"",'
    '"points_needed":}},"lifecycle_stage":"'
)

#: What stored answers are deflated against: the contract's response shapes (error, redemption,
#: adjustment, refund, member, and last, the most frequent, an event's result) and the engine's
#: explanation wording, never one program's rule ids, tiers, currency or dates. Answers packed with
#: it can only be read with it, so it never changes; a better one would be a new format byte.
ANSWER_DICTIONARY = "".join((
    '{"error":{"code":"member_inactive","message":"Member  is erased.","details":{}}}',
    'enrolled","lifecycle_stage":"first_purchase","lifecycle_stage":"advocate","lifecycle_stage":"lapsing","lapsed',
    '{"id":"rdm_","reward_id":"","member_id":"mem_","points_spent":,"code":"","status":"issued","issued_at":"',
    '","expires_at":"","completed_at":null,"voided_at":null,"stripe_promotion_code":null}',
    '{"transaction":{"id":"txn_","type":"adjust","points":,"balance_after":,"rule_id":null,"event_id":null,',
    '"redemption_id":null,"reason":"","actor":"","rules_version":,"created_at":"","expires_at":""},"member":',
    _MEMBER, 'repeat"}}',
    '{"id":"ref_","event_id":"evt_","amount":,"reversed_points":,"member":', _MEMBER, 'repeat"}}',
)).encode("utf-8") + ENGINE_WORDING + "".join((
    '{"event":{"id":"evt_","type":"purchase","member_id":"mem_","source_id":"","occurred_at":"","amount":,',
    '"currency":"","rules_version":},"awarded":[{"rule_id":"","member_id":"mem_","points":,"status":"active",',
    '"available_at":"","expires_at":""},{"rule_id":"","member_id":"mem_","points":,"status":"active",',
    '"available_at":"","expires_at":""}],"explanation":[{"rule_id":"","matched":true,"points":,',
    '"reason":"1 point per $1 on $ = points"},{"rule_id":"","matched":false,"points":0,"reason":""}],',
    '"member":', _MEMBER, 'repeat"}}',
)).encode("utf-8")

def pack_answer(body: str) -> bytes:
    """The response text's own UTF-8 bytes, deflated: it reads back byte for byte, never re-serialized.

    The first byte says how it was packed: ``RAW_DEFLATE``, against ANSWER_DICTIONARY.
    """
    return deflate(body.encode("utf-8"), ANSWER_DICTIONARY)


def unpack_answer(packed: bytes) -> str:
    packed = bytes(packed)
    if packed[:1] != RAW_DEFLATE:
        raise ValueError(f"unknown packing {packed[:1]!r} of a stored answer")
    return inflate(packed[1:], ANSWER_DICTIONARY).decode("utf-8")


class PackedAnswer(TypeDecorator):
    """A response body (JSON text) stored deflated; a fifth of its size for an event's result."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect):
        return None if value is None else pack_answer(value)

    def process_result_value(self, value: bytes | None, dialect):
        return None if value is None else unpack_answer(value)


class IdempotencyRecord(db.Model):
    """The first response to a keyed request, replayed byte for byte on retries.

    Written in the same transaction as the change it answers, so a request is
    either applied and recorded, or neither. ``member_id`` is the member the
    answer is about, so erasure can find answers it cannot read in place; it
    has no index: erasure is rare and scans only the retention window's rows.
    """

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: SHA-256 of the request, 32 raw bytes.
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(PackedAnswer)
    created_at = mapped_column(UTCDateTime, default=clock.now, nullable=False, index=True)
    member_id: Mapped[str | None] = mapped_column(String(32))
