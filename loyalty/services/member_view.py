"""The Member as the contract shows it: cached totals plus what depends on now."""

from datetime import datetime, timedelta

from sqlalchemy import BigInteger, bindparam, column, text
from sqlalchemy.orm import Session

from loyalty.engine import Program, lifecycle_stage
from loyalty.models import Member
from loyalty.models.types import UTCDateTime
from loyalty.services.tiers import current_tier, qualifying_points

EXPIRING_SOON = timedelta(days=30)

#: Every member view shows this, so its SQL is built once.
EXPIRING_SOON_LOTS = text(
    "SELECT expires_at, sum(remaining) AS points FROM lots"
    " WHERE member_id = :member_id AND status = 'active' AND remaining > 0"
    " AND expires_at > :now AND expires_at <= :until"
    " GROUP BY expires_at ORDER BY expires_at"
).bindparams(bindparam("now", type_=UTCDateTime), bindparam("until", type_=UTCDateTime)).columns(
    column("expires_at", UTCDateTime), column("points", BigInteger))


def member_view(session: Session, program: Program, member: Member, now: datetime) -> dict:
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
            "expiring_soon": expiring_soon(session, member.id, now),
        },
        "tier": tier_view(session, program, member, now),
        "lifecycle_stage": lifecycle_stage(
            program, member.purchase_count, member.last_purchase_at, member.referrals_earned, now
        ),
    }


def expiring_soon(session: Session, member_id: str, now: datetime) -> list[dict]:
    rows = session.execute(EXPIRING_SOON_LOTS, {"member_id": member_id, "now": now, "until": now + EXPIRING_SOON})
    return [{"points": int(points), "expires_at": expires_at} for expires_at, points in rows]


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
