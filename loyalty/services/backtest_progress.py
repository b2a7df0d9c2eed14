"""Stamp cards, challenges and streaks in a backtest: each member's at the window's start, the replay, the report.

Cards are ``backtest_cards``'. A challenge starts the window with the entries
and completions kept for events before it (their windows computed with the
candidate's challenge); a streak with the candidate's streak counted over the
days of the events that counted for it before the window. The replay then
advances them as the candidate would, and the report compares completions.
"""

from collections import Counter, defaultdict
from datetime import datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty.engine import Program
from loyalty.engine.challenges import Entry, window_key
from loyalty.engine.streaks import StreakState, replayed
from loyalty.models import ChallengeCompletion, ChallengeEntry, Event, StreakEntry
from loyalty.services import backtest_cards
from loyalty.services.tiers import program_day

KINDS = ("cards", "challenges", "streaks")


def history(session: Session, candidate: Program, members: dict, involved_ids, start: datetime) -> None:
    """Each member's cards, challenges and streaks as the events before ``start`` left them."""
    backtest_cards.history(session, members, involved_ids, start)
    before = (Event.occurred_at < start,)
    for member_id, challenge_id, day, amount, categories in session.execute(
        select(ChallengeEntry.member_id, ChallengeEntry.challenge_id, ChallengeEntry.day, ChallengeEntry.amount,
               ChallengeEntry.categories).join(Event, ChallengeEntry.event_id == Event.id)
        .where(*before, ChallengeEntry.status == "active", ChallengeEntry.member_id.in_(involved_ids))
    ):
        challenge = candidate.challenge(challenge_id)
        if challenge is not None:
            key = window_key(challenge, datetime.combine(day, time(12), candidate.timezone))
            members[member_id].progress.entries.setdefault(challenge_id, []).append(
                Entry(day, key, amount, tuple(categories or ())))
    for member_id, challenge_id, key in session.execute(
        select(ChallengeCompletion.member_id, ChallengeCompletion.challenge_id, ChallengeCompletion.period_key)
        .join(Event, ChallengeCompletion.event_id == Event.id)
        .where(*before, ChallengeCompletion.member_id.in_(involved_ids))
    ):
        members[member_id].progress.completions.setdefault(challenge_id, set()).add(key)
    for member_id, streak_id, occurred_at in session.execute(
        select(StreakEntry.member_id, StreakEntry.streak_id, Event.occurred_at)
        .join(Event, StreakEntry.event_id == Event.id)
        .where(*before, StreakEntry.status == "active", StreakEntry.member_id.in_(involved_ids))
        .order_by(Event.occurred_at, StreakEntry.id)
    ):
        streak, states = candidate.streak(streak_id), members[member_id].progress.streaks
        if streak is not None:
            states[streak_id] = replayed(streak, states.get(streak_id, StreakState()),
                                         program_day(candidate, occurred_at))


def actual(session: Session, window) -> dict[str, Counter]:
    """What the window's events actually gave: cards as ``backtest_cards.actual``; completions of
    challenges and streaks by id."""
    challenges = Counter({challenge_id: int(n) for challenge_id, n in session.execute(
        select(ChallengeCompletion.challenge_id, func.count()).join(Event, ChallengeCompletion.event_id == Event.id)
        .where(*window).group_by(ChallengeCompletion.challenge_id))})
    streaks = Counter({streak_id: int(n) for streak_id, n in session.execute(
        select(StreakEntry.streak_id, func.count()).join(Event, StreakEntry.event_id == Event.id)
        .where(*window, StreakEntry.completes).group_by(StreakEntry.streak_id))})
    return {"cards": backtest_cards.actual(session, window), "challenges": challenges, "streaks": streaks}


def counts() -> dict[str, Counter]:
    return defaultdict(Counter)


def facts(program: Program, member, event_type: str, occurred_at: datetime) -> dict:
    """The engine's view of the member's cards, challenges and streaks (``MemberFacts`` keywords)."""
    return {"cards": backtest_cards.progress(program, member, event_type, program_day(program, occurred_at)),
            "challenges": member.progress.challenge_progress(program, event_type, occurred_at),
            "streaks": member.progress.streaks}


def advance(program: Program, member, occurred_at: datetime, evaluation, counted: dict[str, Counter]) -> None:
    """Keep what the replayed event did to the member's cards, challenges and streaks, and count it."""
    backtest_cards.stamp(member, evaluation.stamps, counted["cards"])
    member.progress.advance(program, occurred_at, evaluation.steps, evaluation.streak_steps)
    counted["challenges"].update(step.challenge_id for step in evaluation.steps if step.completes)
    counted["streaks"].update(step.streak_id for step in evaluation.streak_steps if step.completes)


def report(candidate: Program, found: dict[str, Counter], counted: dict[str, Counter]) -> dict:
    lines = {"cards": backtest_cards.report(candidate, found["cards"], counted["cards"])}
    for kind, key, declared in (("challenges", "challenge_id", candidate.challenges),
                                ("streaks", "streak_id", candidate.streaks)):
        ids = [x.id for x in declared]
        ids += sorted(set(found[kind]) - set(ids))
        lines[kind] = [{key: x, "in_candidate": x in {d.id for d in declared},
                        "actual_completed": found[kind][x], "candidate_completed": counted[kind][x]} for x in ids]
    return lines
