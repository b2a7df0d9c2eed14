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


def duplicate_groups(session: Session, limit: int = 50) -> list[tuple[str, list[Member]]]:
    """Groups of members sharing an email, a phone, or a name and birthday, the oldest member first in
    each (the one a merge would usually keep); at most ``limit`` groups of each kind."""
    live = and_(Member.merged_into_id.is_(None), Member.status != "erased")
    name = (func.lower(Member.first_name), func.lower(Member.last_name), Member.birthday)
    kinds = (("same email", (Member.email,)), ("same phone", (Member.phone,)), ("same name and birthday", name))
    groups = []
    for reason, columns in kinds:
        labelled = [column.label(f"k{i}") for i, column in enumerate(columns)]
        shared = (select(*labelled).where(live, *(column.is_not(None) for column in columns))
                  .group_by(*columns).having(func.count() > 1).order_by(*columns).limit(limit).subquery())
        rows = session.execute(
            select(Member, *(shared.c[f"k{i}"] for i in range(len(columns))))
            .join(shared, and_(*(column == shared.c[f"k{i}"] for i, column in enumerate(columns))))
            .where(live).order_by(*(shared.c[f"k{i}"] for i in range(len(columns))), Member.enrolled_at, Member.id))
        by_key: dict[tuple, list[Member]] = {}
        for member, *key in rows:
            by_key.setdefault(tuple(key), []).append(member)
        groups.extend((reason, members) for members in by_key.values())
    return groups
