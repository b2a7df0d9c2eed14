"""Which member an id, external id or email means now that members can be merged.

A merged member keeps its row (status ``merged``) and names the member it
went into; whatever arrives for it (events, refunds, payments, redemptions)
lands on the end of that chain.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty.db.transactions import lock_members
from loyalty.errors import MemberMerged
from loyalty.models import Member, MemberAlias

MAX_CHAIN = 50  # merges of merges; a longer chain is a loop, which a merge never makes


def current_id(session: Session, member_id: str) -> str:
    """The member ``member_id`` is now: itself, or the member it was (in turn) merged into."""
    seen = 0
    while seen < MAX_CHAIN:
        merged_into = session.scalar(select(Member.merged_into_id).where(Member.id == member_id))
        if merged_into is None:
            return member_id
        member_id, seen = merged_into, seen + 1
    raise RuntimeError(f"merge chain of {member_id} does not end")


def merged_in(session: Session, member_id: str) -> list[str]:
    """``member_id`` and every member merged into it, in turn: whose history is now this member's."""
    found, frontier = [member_id], [member_id]
    for _ in range(MAX_CHAIN):
        frontier = list(session.scalars(select(Member.id).where(Member.merged_into_id.in_(frontier))))
        if not frontier:
            return found
        found.extend(frontier)
    raise RuntimeError(f"merge chain into {member_id} does not end")


def lock_current(session: Session, member_id: str | None) -> Member | None:
    """Lock the member ``member_id`` is now, fresh from the database (None if there is no such member).

    The member named is locked first (most were never merged): once its lock
    is held, a merge of it has either committed, and is followed, or not begun.
    """
    for _ in range(MAX_CHAIN):
        member = lock_members(session, [member_id]).get(member_id) if member_id else None
        if member is None or member.merged_into_id is None:
            return member
        member_id = current_id(session, member.merged_into_id)
    raise RuntimeError(f"merge chain of {member_id} does not end")


def refuse_merged(session: Session, member: Member) -> None:
    """Answer ``410 member_merged`` for a merged member, naming where it went."""
    if member.merged_into_id is not None:
        raise_merged(session, member.id)


def raise_merged(session: Session, member_id: str) -> None:
    survivor = current_id(session, member_id)
    raise MemberMerged(f"Member {member_id} was merged into {survivor}.", {"merged_into": survivor})


def aliased(session: Session, kind: str, value: str) -> str | None:
    """The member an alias (a merged member's external id or email) finds."""
    return session.scalar(select(MemberAlias.member_id).where(MemberAlias.kind == kind, MemberAlias.value == value))
