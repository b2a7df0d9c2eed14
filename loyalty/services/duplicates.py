"""Likely duplicates of a member, for the members desk: the same email, the same phone, or the same name
and birthday. Merged and erased members are never offered."""

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from loyalty.models import Member

LIMIT = 20


@dataclass(frozen=True)
class LikelyDuplicate:
    member: Member
    reasons: tuple[str, ...]  # "same email", "same phone", "same name and birthday"


def likely_duplicates(session: Session, member: Member) -> list[LikelyDuplicate]:
    alike = []
    if member.email:
        alike.append(Member.email == member.email)
    if member.phone:
        alike.append(Member.phone == member.phone)
    named = member.first_name and member.last_name and member.birthday
    if named:
        alike.append(and_(func.lower(Member.first_name) == member.first_name.lower(),
                          func.lower(Member.last_name) == member.last_name.lower(),
                          Member.birthday == member.birthday))
    if not alike:
        return []
    found = session.scalars(select(Member).where(
        or_(*alike), Member.id != member.id, Member.merged_into_id.is_(None), Member.status != "erased",
    ).order_by(Member.enrolled_at, Member.id).limit(LIMIT)).all()
    return [LikelyDuplicate(other, _reasons(member, other)) for other in found]


def _reasons(member: Member, other: Member) -> tuple[str, ...]:
    reasons = []
    if member.email and other.email == member.email:
        reasons.append("same email")
    if member.phone and other.phone == member.phone:
        reasons.append("same phone")
    if (member.birthday and other.birthday == member.birthday
            and (other.first_name or "").lower() == (member.first_name or "").lower()
            and (other.last_name or "").lower() == (member.last_name or "").lower()):
        reasons.append("same name and birthday")
    return tuple(reasons)
