import re
import unicodedata

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from loyalty import clock
from loyalty.db.types import UTCDateTime
from loyalty.extensions import db

MEMBERS_FILLFACTOR = 80
#: The fields the members desk searches (``search_text``).
SEARCHED = ("first_name", "last_name", "email", "external_id", "phone")


class Member(db.Model):
    """A customer in the program, with cached totals kept by the ledger.

    ``balance`` is always the sum of the member's ledger entries; ``ledger.py``
    is the only code that changes it, under the member's row lock.
    """

    __tablename__ = "members"
    #: Every change of points rewrites the member's row. Room left on each page lets PostgreSQL put
    #: the new version beside the old one (a HOT update) instead of adding it to all seven indexes.
    __table_args__ = {"postgresql_with": {"fillfactor": MEMBERS_FILLFACTOR}}

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    birthday = mapped_column(Date)
    email_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    referral_code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    referred_by_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str | None] = mapped_column(String(16))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active", nullable=False)
    enrolled_at = mapped_column(UTCDateTime, default=clock.now, nullable=False)

    balance: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    pending: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    lifetime_earned: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    lifetime_redeemed: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)

    tier_id: Mapped[str] = mapped_column(String(64), nullable=False)
    tier_since = mapped_column(UTCDateTime, nullable=False)
    tier_expires_at = mapped_column(UTCDateTime)

    purchase_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    first_purchase_at = mapped_column(UTCDateTime)
    second_purchase_at = mapped_column(UTCDateTime)
    last_purchase_at = mapped_column(UTCDateTime)
    referrals_earned: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default="enrolled", nullable=False)
    last_activity_at = mapped_column(UTCDateTime)
    #: Names, email and external id folded and the phone's digits, for the members desk
    #: (``loyalty.services.member_search``); None once erased. Kept when one of them is set, so a
    #: change of points (every accrual's flush) never recomputes it.
    search_text: Mapped[str | None] = mapped_column(Text)
    #: The member this one was merged into (status ``merged``): events, refunds and look-ups of this
    #: member land there. Its ledger stays here as history.
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("members.id"))
    merged_at = mapped_column(UTCDateTime)

    @validates(*SEARCHED)
    def _keep_search_text(self, name: str, value):
        searched = {field: getattr(self, field) for field in SEARCHED}
        searched[name] = value
        self.search_text = search_text(**searched)
        return value


def fold(text: str) -> str:
    """"Ana López" → "ana lopez": lower case, accents off."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def search_text(first_name, last_name, email, external_id, phone) -> str | None:
    words = [fold(value) for value in (first_name, last_name, email, external_id) if value]
    if phone and digits(phone):
        words.append(digits(phone))
    return " ".join(words) or None
