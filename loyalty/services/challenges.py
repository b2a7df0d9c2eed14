"""Challenges and badges: each event's contribution kept in its transaction; completions and badges.

The engine decides (``loyalty.engine.challenges``); this module reads each
challenge's progress in its window before the event and writes the event's
entries, the completions and the badges they award. Every write happens under
the member's row lock; a unique index makes a completion once per member,
challenge and period whatever the number of processes.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import outbox
from loyalty.engine import Program
from loyalty.engine.challenges import (
    Challenge,
    ChallengeProgress,
    ChallengeStep,
    Entry,
    completion_key,
    progress_of,
    window_key,
)
from loyalty.models import ChallengeCompletion, ChallengeEntry, Member, MemberBadge


def progress(session: Session, program: Program, member_id: str, event_type: str,
             occurred_at: datetime) -> dict[str, ChallengeProgress]:
    """Each challenge listening to ``event_type`` as the member's entries in its window add up."""
    listening = [c for c in program.challenges if c.on == event_type]
    if not listening:
        return {}
    local = occurred_at.astimezone(program.timezone)
    return {c.id: _progress(session, c, member_id, local) for c in listening}


def _progress(session: Session, challenge: Challenge, member_id: str, local: datetime) -> ChallengeProgress:
    done_keys = set(session.scalars(select(ChallengeCompletion.period_key).where(
        ChallengeCompletion.member_id == member_id, ChallengeCompletion.challenge_id == challenge.id)))
    entries = select(ChallengeEntry.day, ChallengeEntry.period_key, ChallengeEntry.amount,
                     ChallengeEntry.categories).where(
        ChallengeEntry.member_id == member_id, ChallengeEntry.challenge_id == challenge.id,
        ChallengeEntry.status == "active")
    if challenge.per:
        entries = entries.where(ChallengeEntry.period_key == window_key(challenge, local))
    else:
        entries = entries.where(ChallengeEntry.day >= local.date() - timedelta(days=challenge.days - 1),
                                ChallengeEntry.day <= local.date())
    return progress_of(challenge, [Entry(*row) for row in session.execute(entries)], done_keys, local)


def record(session: Session, program: Program, member: Member, event: dict, steps: tuple[ChallengeStep, ...],
           now: datetime) -> None:
    """Write the event's entries; a completion is recorded, its badge given, and both announced."""
    local = event["occurred_at"].astimezone(program.timezone)
    for step in steps:
        challenge = program.challenge(step.challenge_id)
        session.add(ChallengeEntry(
            member_id=member.id, challenge_id=challenge.id, event_id=event["id"], day=local.date(),
            period_key=window_key(challenge, local), amount=step.amount, categories=list(step.categories),
            status="active", created_at=now))
        if step.completes:
            session.add(ChallengeCompletion(member_id=member.id, challenge_id=challenge.id,
                                            period_key=completion_key(challenge, local), event_id=event["id"],
                                            completed_at=now))
            outbox.emit(session, "challenge.completed", member.id, {
                "member_id": member.id, "challenge_id": challenge.id, "event_id": event["id"],
                "points": challenge.points, "badge_id": challenge.badge_id}, now)
            if challenge.badge_id:
                give_badge(session, program, member.id, challenge.badge_id, f"challenge:{challenge.id}", now)


def give_badge(session: Session, program: Program, member_id: str, badge_id: str, source: str,
               now: datetime) -> bool:
    """A member earns a badge once; True if it is new (one not yet flushed counts: an event's challenge,
    streak and tier may give the same badge)."""
    if session.get(MemberBadge, (member_id, badge_id)) is not None or any(
            isinstance(new, MemberBadge) and (new.member_id, new.badge_id) == (member_id, badge_id)
            for new in session.new):
        return False
    session.add(MemberBadge(member_id=member_id, badge_id=badge_id, source=source, earned_at=now))
    badge = program.badge(badge_id)
    outbox.emit(session, "badge.earned", member_id, {
        "member_id": member_id, "badge_id": badge_id, "name": badge.name if badge else badge_id,
        "image": badge.image if badge else None, "source": source}, now)
    return True


def take_back(session: Session, event_id: str, now: datetime) -> None:
    """A whole refund: the progress the purchase gave no longer counts (a completion it made stays)."""
    for entry in session.scalars(select(ChallengeEntry).where(ChallengeEntry.event_id == event_id,
                                                               ChallengeEntry.status == "active")):
        entry.status, entry.taken_back_at = "taken_back", now


def challenge_views(session: Session, program: Program, member_id: str, now: datetime) -> dict:
    """The member's ``challenges`` and ``badges`` as the contract shows them (no read without any)."""
    if not program.challenges and not program.badges:
        return {"challenges": [], "badges": []}
    local = now.astimezone(program.timezone)
    completions = dict(session.execute(
        select(ChallengeCompletion.challenge_id, func.count()).where(ChallengeCompletion.member_id == member_id)
        .group_by(ChallengeCompletion.challenge_id)).all())
    challenges = []
    for challenge in program.challenges:
        now_progress = _progress(session, challenge, member_id, local)
        challenges.append({
            "id": challenge.id, "name": challenge.name, "description": challenge.description,
            "goal": challenge.goal, "progress": min(now_progress.value(challenge.goal), challenge.target),
            "of": challenge.target, "period": challenge.per, "days": challenge.days,
            "completed": int(completions.get(challenge.id, 0)), "done": now_progress.done,
            "points": challenge.points, "badge_id": challenge.badge_id,
        })
    badges = []
    for badge_id, earned_at in session.execute(select(MemberBadge.badge_id, MemberBadge.earned_at)
                                               .where(MemberBadge.member_id == member_id)
                                               .order_by(MemberBadge.earned_at, MemberBadge.badge_id)):
        badge = program.badge(badge_id)
        badges.append({"id": badge_id, "name": badge.name if badge else badge_id,
                       "image": badge.image if badge else None, "earned_at": earned_at})
    return {"challenges": challenges, "badges": badges}
