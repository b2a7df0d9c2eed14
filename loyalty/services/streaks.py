"""Streaks: each member's state and every event that counted, kept in the event's transaction.

The engine decides (``loyalty.engine.streaks``); this module reads the
member's state before the event, writes the state after it with the event's
entry, announces a completion (and the badge it awards), and gives a period
back when a whole refund takes away the period's only event. Every write
happens under the member's row lock.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loyalty import outbox
from loyalty.engine import Program
from loyalty.engine.streaks import StreakState, StreakStep, ends_after, standing
from loyalty.models import Member, MemberStreak, StreakEntry
from loyalty.services.challenges import give_badge
from loyalty.services.tiers import program_day


def states(session: Session, program: Program, member_id: str, event_type: str) -> dict[str, StreakState]:
    """Each streak listening to ``event_type`` as the member's last event left it."""
    if not any(streak.on == event_type for streak in program.streaks):
        return {}
    return {row.streak_id: _state(row) for row in session.scalars(
        select(MemberStreak).where(MemberStreak.member_id == member_id))}


def _state(row: MemberStreak) -> StreakState:
    return StreakState(row.current, row.run, row.best, row.completed, row.last_period)


def record(session: Session, program: Program, member: Member, event: dict, steps: tuple[StreakStep, ...],
           now: datetime) -> None:
    """Write each step's state and entry; a completion is announced, its badge given."""
    for step in steps:
        before = step.before
        session.add(StreakEntry(
            member_id=member.id, streak_id=step.streak_id, event_id=event["id"], period=step.period,
            gives=step.gives, completes=step.completes, before_current=before.current, before_run=before.run,
            before_best=before.best, before_last_period=before.last_period, status="active", created_at=now))
        if step.gives:
            _write_state(session, member.id, step.streak_id, step.after, now)
        if step.completes:
            streak = program.streak(step.streak_id)
            outbox.emit(session, "streak.completed", member.id, {
                "member_id": member.id, "streak_id": streak.id, "event_id": event["id"],
                "period": step.period, "length": streak.length, "completed": step.after.completed,
                "points": streak.points, "badge_id": streak.badge_id}, now)
            if streak.badge_id:
                give_badge(session, program, member.id, streak.badge_id, f"streak:{streak.id}", now)


def _write_state(session: Session, member_id: str, streak_id: str, state: StreakState, now: datetime) -> None:
    row = session.get(MemberStreak, (member_id, streak_id))
    if row is None:
        row = MemberStreak(member_id=member_id, streak_id=streak_id)
        session.add(row)
    row.current, row.run, row.best, row.completed = state.current, state.run, state.best, state.completed
    row.last_period, row.updated_at = state.last_period, now


def take_back(session: Session, event_id: str, now: datetime) -> None:
    """A whole refund: the event no longer counts. The period it gave passes to another event of the
    same period; with none, the streak goes back to the state before it when that period is the last
    counted and did not complete the streak. A completion stays, as does its award, and so does the
    period an earlier event counted once later periods counted after it."""
    for entry in session.scalars(select(StreakEntry).where(StreakEntry.event_id == event_id,
                                                            StreakEntry.status == "active")):
        entry.status, entry.taken_back_at = "taken_back", now
        if not entry.gives:
            continue
        session.flush()
        heir = session.scalar(select(StreakEntry).where(
            StreakEntry.member_id == entry.member_id, StreakEntry.streak_id == entry.streak_id,
            StreakEntry.period == entry.period, StreakEntry.status == "active").order_by(StreakEntry.id).limit(1))
        if heir is not None:
            heir.gives = True
            continue
        row = session.get(MemberStreak, (entry.member_id, entry.streak_id))
        if row is not None and not entry.completes and row.last_period == entry.period:
            row.current, row.run, row.best = entry.before_current, entry.before_run, entry.before_best
            row.last_period, row.updated_at = entry.before_last_period, now


def streak_views(session: Session, program: Program, member_id: str, now: datetime) -> list[dict]:
    """The member's ``streaks`` as the contract shows them, as they stand on the program day of ``now``."""
    if not program.streaks:
        return []
    rows = {row.streak_id: row for row in session.scalars(
        select(MemberStreak).where(MemberStreak.member_id == member_id))}
    today = program_day(program, now)
    views = []
    for streak in program.streaks:
        row = rows.get(streak.id)
        state = standing(streak, _state(row) if row else StreakState(), today)
        views.append({
            "id": streak.id, "name": streak.name, "description": streak.description, "period": streak.period,
            "length": streak.length, "current": state.current, "best": state.best, "completed": state.completed,
            "grace": streak.grace, "points": streak.points, "badge_id": streak.badge_id,
            "counted_through": state.last_period if state.run else None, "ends_after": ends_after(streak, state),
        })
    return views
