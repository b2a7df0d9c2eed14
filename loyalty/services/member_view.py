"""The Member as the contract shows it: cached totals plus what depends on now."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Date, Integer, String, bindparam, column, select, text, true
from sqlalchemy.orm import Session

from loyalty.db.types import UTCDateTime
from loyalty.engine import Program, lifecycle_stage
from loyalty.models import Member
from loyalty.services import counters
from loyalty.services.cards import CardRow, card_views
from loyalty.services.challenges import challenge_views
from loyalty.services.streaks import streak_views
from loyalty.services.tiers import current_tier, qualifying_points, qualifying_window

EXPIRING_SOON = timedelta(days=30)

_EXPIRING_SOON_SQL = (
    "SELECT CAST(sum(remaining) AS BIGINT) AS amount, expires_at FROM lots"
    " WHERE member_id = :member_id AND status = 'active' AND remaining > 0"
    " AND expires_at > :now AND expires_at <= :until GROUP BY expires_at"
)


def _tagged(kind: str, select_sql: str, before: str = "", after: str = "") -> str:
    """``select_sql`` with its kind in front and NULL columns around its own, for a UNION."""
    return select_sql.replace("SELECT ", f"SELECT '{kind}' AS kind, {before}", 1).replace(" FROM ", f"{after} FROM ", 1)


#: Everything a member view reads besides the member row, in one round trip: the points expiring
#: soon, the qualifying total of the window ending today and, for an accrual, its counters' usage.
#: Rows are (kind, counter, period, amount, expires_at), kind u(sage), q(ualifying) or x (expiring),
#: or d: a day's counters, (day, JSON) in the places of (counter, period).
MEMBER_READ = text(" UNION ALL ".join((  # PostgreSQL types a UNION pair by pair: the timestamps come first
    _tagged("x", _EXPIRING_SOON_SQL, before="NULL, NULL, "),
    _tagged("u", counters.USAGE_SQL, after=", NULL"),
    _tagged("d", counters.DAY_USAGE_SQL, after=", NULL, NULL"),
    _tagged("q", counters.QUALIFYING_SQL, before="NULL, NULL, ", after=", NULL"),
))).bindparams(
    bindparam("counters", type_=String, expanding=True), bindparam("periods", type_=String, expanding=True),
    bindparam("days", type_=Date, expanding=True),
    bindparam("first_day", type_=Date), bindparam("last_day", type_=Date),
    bindparam("now", type_=UTCDateTime), bindparam("until", type_=UTCDateTime),
).columns(column("kind", String), column("counter_id", String), column("period_key", String),
          column("amount", BigInteger), column("expires_at", UTCDateTime))


MEMBERS = Member.__table__
#: A stamp card's progress is a row of the view's reads too: kind c, the stamps in ``amount``.
_NO_CARD = (", CAST(NULL AS VARCHAR(64)) AS card_id, CAST(NULL AS INTEGER) AS completed,"
            " CAST(NULL AS DATE) AS last_stamp_day")
_CARDS_SQL = ("SELECT 'c' AS kind, CAST(stamps AS BIGINT) AS amount, CAST(NULL AS TIMESTAMP), card_id, completed,"
              " last_stamp_day FROM member_cards WHERE member_id = :member_id")


def _member_with_reads(member_sql: str, criterion):
    """The row of the member ``criterion`` selects beside each of its view's reads, in one statement.

    The reads are (kind, amount, expires_at), kind x (expiring soon) or q (the qualifying total,
    always one row, so a member always has a row); ``member_sql`` is that member's id in SQL.
    """
    reads = text(" UNION ALL ".join(
        select_sql.replace(":member_id", member_sql) for select_sql in (
            _tagged("x", _EXPIRING_SOON_SQL, after=_NO_CARD),
            _tagged("q", counters.QUALIFYING_SQL, after=", NULL" + _NO_CARD),
            _CARDS_SQL)
    )).bindparams(
        bindparam("first_day", type_=Date), bindparam("last_day", type_=Date),
        bindparam("now", type_=UTCDateTime), bindparam("until", type_=UTCDateTime),
    ).columns(column("kind", String), column("amount", BigInteger), column("expires_at", UTCDateTime),
              column("card_id", String), column("completed", Integer), column("last_stamp_day", Date),
              ).subquery("view_reads")
    return select(MEMBERS, reads).select_from(MEMBERS.outerjoin(reads, true())).where(criterion)


MEMBER_VIEW_BY_ID = _member_with_reads(":member_id", MEMBERS.c.id == bindparam("member_id"))
#: External ids are unique: the till's card lookup is one statement too.
MEMBER_VIEW_BY_EXTERNAL_ID = _member_with_reads(
    "(SELECT id FROM members WHERE external_id = :external_id)",
    MEMBERS.c.external_id == bindparam("external_id"))


@dataclass(frozen=True)
class MemberReads:
    """What ``read_member`` found; the qualifying total is left with ``counters.qualifying_total``."""

    usage: dict[tuple[str, str], int]
    expiring_soon: list[dict]


def read_member(session: Session, program: Program, member_id: str, now: datetime,
                usage_keys: Iterable[tuple[str, str]] = ()) -> MemberReads:
    """The member's points expiring soon, qualifying total and use of ``usage_keys``, in one statement."""
    first_day, last_day = qualifying_window(program, now)
    rows = session.execute(MEMBER_READ, {
        "member_id": member_id, **counters.usage_keys(usage_keys), "first_day": first_day, "last_day": last_day,
        "now": now, "until": now + EXPIRING_SOON})
    usage, expiring = {}, []
    for kind, counter, period, amount, expires_at in rows:
        if kind == "u":
            usage[counter, period] = int(amount)
        elif kind == "d":
            usage.update(counters.day_counters(period, counter))
        elif kind == "q":
            counters.remember_qualifying(session, member_id, first_day, last_day, int(amount))
        else:
            expiring.append({"points": int(amount), "expires_at": expires_at})
    return MemberReads(usage, sorted(expiring, key=lambda lot: lot["expires_at"]))


def member_view_by_id(session: Session, program: Program, member_id: str, now: datetime) -> dict | None:
    """The view of a member, or None if there is no such member, read in one statement without the ORM.

    For answers that only show the member (``GET /v1/members/{id}``).
    """
    return _member_view_read(session, program, MEMBER_VIEW_BY_ID, {"member_id": member_id}, now)


def member_view_by_external_id(session: Session, program: Program, external_id: str, now: datetime) -> dict | None:
    """As ``member_view_by_id``, for the member with this external id."""
    return _member_view_read(session, program, MEMBER_VIEW_BY_EXTERNAL_ID, {"external_id": external_id}, now)


def _member_view_read(session: Session, program: Program, statement, which: dict, now: datetime) -> dict | None:
    first_day, last_day = qualifying_window(program, now)
    rows = session.execute(statement, {**which, "first_day": first_day, "last_day": last_day,
                                       "now": now, "until": now + EXPIRING_SOON}).all()
    if not rows:
        return None
    expiring, cards = [], []
    for row in rows:
        if row.kind == "q":
            counters.remember_qualifying(session, row.id, first_day, last_day, int(row.amount))
        elif row.kind == "c":
            cards.append(CardRow(row.card_id, int(row.amount), row.completed, row.last_stamp_day))
        else:
            expiring.append({"points": int(row.amount), "expires_at": row.expires_at})
    return member_view(session, program, rows[0], now, sorted(expiring, key=lambda lot: lot["expires_at"]), cards)


def with_new_lots(expiring_soon: list[dict], lots: Iterable[dict], now: datetime) -> list[dict]:
    """``expiring_soon`` as read before ``lots`` (rows just written for the member) were added."""
    points = defaultdict(int, {lot["expires_at"]: lot["points"] for lot in expiring_soon})
    for lot in lots:
        if lot["status"] == "active" and lot["remaining"] > 0 and lot["expires_at"] is not None \
                and now < lot["expires_at"] <= now + EXPIRING_SOON:
            points[lot["expires_at"]] += lot["remaining"]
    return [{"points": total, "expires_at": expires_at} for expires_at, total in sorted(points.items())]


def member_view(session: Session, program: Program, member: Member, now: datetime,
                expiring_soon: list[dict] | None = None, card_rows: list | None = None) -> dict:
    """The member (an instance, or a row of its table) as the API shows it; ``expiring_soon`` and
    ``card_rows`` if the caller has read them (``read_member``, ``_member_view_read``)."""
    if expiring_soon is None:
        expiring_soon = read_member(session, program, member.id, now).expiring_soon
    return {
        "id": member.id,
        "external_id": member.external_id,
        "email": member.email,
        "phone": member.phone,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "birthday": member.birthday,
        "email_opt_in": member.email_opt_in,
        "channel": member.channel,
        "stripe_customer_id": member.stripe_customer_id,
        "status": member.status,
        "enrolled_at": member.enrolled_at,
        "referral_code": member.referral_code,
        "referred_by_member_id": member.referred_by_id,
        "points": {
            "balance": member.balance,
            "pending": member.pending,
            "lifetime_earned": member.lifetime_earned,
            "lifetime_redeemed": member.lifetime_redeemed,
            "expiring_soon": expiring_soon,
        },
        "tier": tier_view(session, program, member, now),
        "lifecycle_stage": lifecycle_stage(
            program, member.purchase_count, member.last_purchase_at, member.referrals_earned, now
        ),
        "cards": card_views(session, program, member.id, now, card_rows),
        **challenge_views(session, program, member.id, now),
        "streaks": streak_views(session, program, member.id, now),
    }


def tier_view(session: Session, program: Program, member: Member, now: datetime) -> dict:
    tier = current_tier(program, member)
    following = program.next_tier(tier.id)
    qualifying = qualifying_points(session, program, member.id, now)
    view = {
        "id": tier.id,
        "name": tier.name,
        "multiplier": float(tier.multiplier),
        "since": member.tier_since,
        "expires_at": member.tier_expires_at,
        "qualifying_points": qualifying,
        "next": None,
    }
    if following is not None:
        view["next"] = {
            "id": following.id,
            "name": following.name,
            "points_needed": max(0, following.qualifying_points - qualifying),
        }
    return view
