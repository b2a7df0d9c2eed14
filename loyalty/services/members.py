"""Enrolment, look-up and changes to a member's own details."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty import outbox
from loyalty.db.pagination import decode_cursor, encode_cursor
from loyalty.db.transactions import lock_members
from loyalty.engine import Program
from loyalty.errors import MemberExists, MemberInactive, NotFound, ValidationFailed
from loyalty.ids import new_id, new_referral_code
from loyalty.models import Member
from loyalty.services import identity
from loyalty.services.accrual import EventInput, apply_event
from loyalty.services.member_view import member_view, member_view_by_external_id, member_view_by_id
from loyalty.services.rules import ActiveRules

CONTACT_FIELDS = ("email", "phone", "first_name", "last_name", "birthday", "stripe_customer_id")


@dataclass(frozen=True)
class Enrolment:
    external_id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birthday: date | None = None
    email_opt_in: bool = False
    referred_by: str | None = None
    channel: str | None = None
    stripe_customer_id: str | None = None


def normalize_email(email: str | None) -> str | None:
    return email.strip().lower() if email else email


def enroll(session: Session, rules: ActiveRules, data: Enrolment, actor: str | None,
           now: datetime) -> Member:
    """Create the member and fire `enrolled` (and `email_signup` on opt-in) in one transaction."""
    existing = session.scalar(select(Member.id).where(Member.external_id == data.external_id))
    if existing:
        raise MemberExists(f"external_id {data.external_id!r} is already enrolled.",
                           {"member_id": identity.current_id(session, existing)})
    referrer_id = None
    if data.referred_by:
        referrer_id = session.scalar(
            select(Member.id).where(Member.referral_code == data.referred_by.strip().upper())
        )
        if referrer_id is None:
            raise ValidationFailed({"referred_by": [f"no member has referral code {data.referred_by!r}"]})
    member = Member(
        id=new_id("mem"), external_id=data.external_id, email=normalize_email(data.email),
        phone=data.phone, first_name=data.first_name, last_name=data.last_name,
        birthday=data.birthday, email_opt_in=data.email_opt_in, referral_code=_free_referral_code(session),
        referred_by_id=referrer_id, channel=data.channel, stripe_customer_id=data.stripe_customer_id,
        status="active", enrolled_at=now, tier_id=rules.program.base_tier.id, tier_since=now,
        lifecycle_stage="enrolled", last_activity_at=now,
    )
    try:
        with session.begin_nested():  # a racing enrolment that won: roll back to here, name it
            session.add(member)
    except IntegrityError:
        existing = session.scalar(select(Member.id).where(Member.external_id == data.external_id))
        raise MemberExists(f"external_id {data.external_id!r} is already enrolled.",
                           {"member_id": existing}) from None
    outbox.emit(session, "member.enrolled", member.id, {"member": outbox.member_data(member)}, now)
    _fire(session, rules, member, "enrolled", actor, now)
    if data.email_opt_in:
        _fire(session, rules, member, "email_signup", actor, now)
    return member


def update(session: Session, rules: ActiveRules, member_id: str, changes: dict, actor: str | None,
           now: datetime) -> Member:
    member = lock_members(session, [member_id]).get(member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.")
    identity.refuse_merged(session, member)
    if member.status == "erased":
        raise MemberInactive(f"Member {member_id} is erased.")
    opted_in = changes.get("email_opt_in") is True and not member.email_opt_in
    for name in CONTACT_FIELDS:
        if name in changes:
            value = changes[name]
            setattr(member, name, normalize_email(value) if name == "email" else value)
    if "email_opt_in" in changes:
        member.email_opt_in = changes["email_opt_in"]
    if "status" in changes:
        member.status = changes["status"]
    if opted_in and member.status == "active":
        _fire(session, rules, member, "email_signup", actor, now)
    return member


def get(session: Session, member_id: str) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.")
    return member


def get_view(session: Session, program: Program, member_id: str, now: datetime) -> dict:
    """``GET /v1/members/{id}``: the member as the API shows it, read in one statement."""
    view = member_view_by_id(session, program, member_id, now)
    if view is None:
        raise NotFound(f"No member {member_id}.")
    if view["status"] == "merged":
        identity.raise_merged(session, member_id)
    return view


def find_views(session: Session, program: Program, now: datetime, external_id=None, email=None, phone=None,
               limit=20, cursor=None) -> tuple[list[dict], str | None]:
    """``find``'s page as the API shows it. External ids are unique: a lookup by one alone (the till's
    card scan) reads its one member with its view in one statement, as ``get_view`` does."""
    if external_id is not None and email is None and phone is None and not cursor:
        view = member_view_by_external_id(session, program, external_id, now)
        if view is None or view["status"] == "merged":  # a merged member's external id finds its survivor
            survivor_id = identity.aliased(session, "external_id", external_id)
            view = member_view_by_id(session, program, survivor_id, now) if survivor_id else None
        return [view] if view else [], None
    page, next_cursor = find(session, external_id, email, phone, limit, cursor)
    return [member_view(session, program, member, now) for member in page], next_cursor


def find(session: Session, external_id=None, email=None, phone=None, limit=20, cursor=None):
    """Members matching every given field, newest first; returns (members, next_cursor).

    Merged members are left out; their external id and email (aliases) find the members they went into.
    """
    query = select(Member).where(Member.merged_into_id.is_(None))
    if external_id is not None:
        aliased = identity.aliased(session, "external_id", external_id)
        query = query.where((Member.external_id == external_id) | (Member.id == aliased) if aliased
                            else Member.external_id == external_id)
    if email is not None:
        email = normalize_email(email)
        aliased_email = identity.aliased(session, "email", email)
        query = query.where((Member.email == email) | (Member.id == aliased_email) if aliased_email
                            else Member.email == email)
    if phone is not None:
        query = query.where(Member.phone == phone)
    after = decode_cursor(cursor)
    if after is not None:
        enrolled_at, member_id = _members_cursor(after)
        query = query.where(
            (Member.enrolled_at < enrolled_at)
            | ((Member.enrolled_at == enrolled_at) & (Member.id < member_id))
        )
    query = query.order_by(Member.enrolled_at.desc(), Member.id.desc()).limit(limit + 1)
    rows = session.scalars(query).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(page[-1].enrolled_at.isoformat(), page[-1].id)
    return page, next_cursor


def _members_cursor(values: list) -> tuple[datetime, str]:
    """The (enrolled_at, id) a members cursor holds; anything else was not issued here."""
    try:
        enrolled_at, member_id = values
        enrolled_at = datetime.fromisoformat(enrolled_at)
    except (TypeError, ValueError):
        enrolled_at = None
    if enrolled_at is None or enrolled_at.tzinfo is None or not isinstance(member_id, str):
        raise ValidationFailed({"cursor": ["not a cursor this service issued"]})
    return enrolled_at, member_id


def _fire(session: Session, rules: ActiveRules, member: Member, action: str, actor, now) -> None:
    if action not in rules.program.actions:
        return
    apply_event(session, rules, member, EventInput(type=action, member_id=member.id), now, actor, now)


def _free_referral_code(session: Session) -> str:
    while True:
        code = new_referral_code()
        if session.scalar(select(Member.id).where(Member.referral_code == code)) is None:
            return code
