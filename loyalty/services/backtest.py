"""Backtests: the recorded events of a window replayed through candidate rules, in memory.

Nothing is written. Members start the window in the state the recorded
history before it implies (tier from tier changes; rule limits, caps and
qualifying points rebuilt from the awards of earlier events, each counted
under the rules version that made it; qualifying points less refunds made
before the window). Events are then replayed in ``occurred_at`` order, each
with its own moment as "now": tiers move up and limits and caps fill exactly
as they would if the candidate rules had been active from ``start``.

Both sides count points *earned*: the awards (lots, pending ones included)
of the window's events, to every member they went to (a referrer too).
Refunds are not replayed: they would reverse a share of either side alike.
Tier re-evaluation at the end of a held tier is the jobs' work and is not
replayed either.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from loyalty.engine import EventFacts, Item, MemberFacts, Program, ReferrerFacts, Tier, evaluate
from loyalty.engine.periods import EventClock
from loyalty.errors import ValidationFailed
from loyalty.models import Event, Lot, Member, Refund, TierChange
from loyalty.services import backtest_progress
from loyalty.services.replayed_progress import ReplayedProgress
from loyalty.services.rules import program_for_version
from loyalty.services.tiers import program_day

MAX_WINDOW = timedelta(days=400)
MAX_EVENTS = 200_000
PURCHASE = "purchase"


@dataclass
class MemberRun:
    """One member during the replay."""

    id: str
    external_id: str | None
    email: str | None
    status: str
    referred_by_id: str | None
    tier_at_start: str | None = None
    tier_id: str | None = None
    actual_tier: str | None = None
    usage: Counter = field(default_factory=Counter)
    qualifying: Counter = field(default_factory=Counter)  # program day → points
    actual_points: int = 0
    candidate_points: int = 0
    cards: dict = field(default_factory=dict)  # card id → CardProgress
    stamp_days: set = field(default_factory=set)  # (card id, program day) of the member's stamps
    progress: ReplayedProgress = field(default_factory=ReplayedProgress)  # challenges and streaks


def check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed({"to": ["must be after from"]})
    if end - start > MAX_WINDOW:
        raise ValidationFailed({"to": [f"a backtest covers at most {MAX_WINDOW.days} days"]})


def backtest(session: Session, candidate: Program, actual: Program, start: datetime, end: datetime,
             top: int = 10) -> dict:
    """Points actually awarded to the window's events vs what ``candidate`` would have awarded."""
    check_window(start, end)
    window = (Event.occurred_at >= start, Event.occurred_at < end)
    events = session.execute(
        select(Event.id, Event.member_id, Event.type, Event.occurred_at, Event.amount, Event.currency,
               Event.store_id, Event.channel, Event.items, Event.attributes)
        .where(*window).order_by(Event.occurred_at, Event.recorded_at, Event.id).limit(MAX_EVENTS + 1)
    ).all()
    if len(events) > MAX_EVENTS:
        raise ValidationFailed({"to": [f"more than {MAX_EVENTS:,} events in the window: choose a shorter one"]})
    in_window = select(Event.member_id).where(*window)
    involved_ids = in_window.union(
        select(Member.referred_by_id).where(Member.id.in_(in_window), Member.referred_by_id.is_not(None))
    )
    members = _members(session, involved_ids)
    _tiers(session, members, involved_ids, start, end, actual.base_tier.id)
    _history(session, members, involved_ids, start)

    by_rule_actual: Counter = Counter()
    for rule_id, member_id, points in session.execute(
        select(Lot.rule_id, Lot.member_id, func.sum(Lot.points))
        .join(Event, Lot.event_id == Event.id).where(*window, Lot.member_id.in_(involved_ids))
        .group_by(Lot.rule_id, Lot.member_id)
    ):
        by_rule_actual[rule_id] += int(points)
        members[member_id].actual_points += int(points)
    moves_actual = Counter(
        {(from_tier, to_tier): n for from_tier, to_tier, n in session.execute(
            select(TierChange.from_tier, TierChange.to_tier, func.count())
            .join(Event, TierChange.event_id == Event.id).where(*window)
            .group_by(TierChange.from_tier, TierChange.to_tier))}
    )
    backtest_progress.history(session, candidate, members, involved_ids, start)
    progress_actual = backtest_progress.actual(session, window)
    by_rule_candidate, moves_candidate, progress_candidate = _replay(candidate, events, members)
    return _report(candidate, actual, start, end, len(events), members, by_rule_actual, by_rule_candidate,
                   moves_actual, moves_candidate, top) | backtest_progress.report(candidate, progress_actual,
                                                                                  progress_candidate)


def _members(session: Session, involved_ids) -> dict[str, MemberRun]:
    rows = session.execute(
        select(Member.id, Member.external_id, Member.email, Member.status, Member.referred_by_id)
        .where(Member.id.in_(involved_ids))
    )
    return {row.id: MemberRun(*row) for row in rows}


def _tiers(session: Session, members: dict[str, MemberRun], involved_ids, start: datetime,
           end: datetime, base_tier: str) -> None:
    """Each member's tier at ``start`` and, as it actually went, at ``end``."""
    for member_id, to_tier, changed_at in session.execute(
        select(TierChange.member_id, TierChange.to_tier, TierChange.changed_at)
        .where(TierChange.member_id.in_(involved_ids), TierChange.changed_at < end)
        .order_by(TierChange.changed_at, TierChange.id)
    ):
        member = members[member_id]
        if changed_at < start:
            member.tier_at_start = to_tier
        member.actual_tier = to_tier
    for member in members.values():
        member.tier_at_start = member.tier_at_start or base_tier
        member.actual_tier = member.actual_tier or base_tier
        member.tier_id = member.tier_at_start


def _history(session: Session, members: dict[str, MemberRun], involved_ids, start: datetime) -> None:
    """Rebuild limits, caps and qualifying points as the awards before ``start`` left them."""
    # Lots are found by member (they are not indexed by event): an event's lots are its member's
    # and its member's referrer's, so the involved members' referrers' lots hold the rest.
    owners = select(Member.id).where(Member.id.in_(involved_ids)).union(
        select(Member.referred_by_id).where(Member.id.in_(involved_ids), Member.referred_by_id.is_not(None)))
    rows = session.execute(
        select(Event.id, Event.member_id, Event.occurred_at, Event.rules_version,
               Lot.member_id, Lot.rule_id, Lot.points, Lot.spend_based)
        .join(Lot, Lot.event_id == Event.id)
        .where(Event.occurred_at < start, Lot.member_id.in_(owners),
               or_(Event.member_id.in_(involved_ids), Lot.member_id.in_(involved_ids)))
        .order_by(Event.id)
    )
    programs: dict[int, Program] = {}

    def program(version: int) -> Program:
        if version not in programs:
            programs[version] = program_for_version(session, version)
        return programs[version]

    by_event: dict[str, list] = defaultdict(list)
    for row in rows:
        by_event[row[0]].append(row)
    for lots in by_event.values():
        _, owner_id, occurred_at, version, *_ = lots[0]
        _count_awards(program(version), owner_id, occurred_at, lots, members)
    for member_id, occurred_at, version, points in session.execute(
        select(Event.member_id, Event.occurred_at, Event.rules_version, Refund.reversed_points)
        .join(Refund, Refund.event_id == Event.id)
        .where(Refund.created_at < start, Event.member_id.in_(involved_ids))
    ):
        members[member_id].qualifying[program_day(program(version), occurred_at)] -= points


def _count_awards(program: Program, owner_id: str, occurred_at: datetime, lots: list,
                  members: dict[str, MemberRun]) -> None:
    """What one recorded event added to its members' counters, as ``evaluate`` counts it."""
    clock = EventClock(occurred_at, program.timezone)
    owner = members.get(owner_id)
    by_rule: dict[str, list] = defaultdict(list)
    for *_, member_id, rule_id, points, spend_based in lots:
        by_rule[rule_id].append((member_id, points, spend_based))
    for rule_id, awards in by_rule.items():
        try:
            rule = program.rule(rule_id)
        except KeyError:
            continue
        if rule.referral is None:
            points = sum(p for m, p, _ in awards if m == owner_id)
            if owner is not None and points:
                if rule.limit:
                    owner.usage[(rule.counter, clock.key(rule.limit.per))] += 1
                for cap in rule.caps:
                    owner.usage[(cap.counter, clock.key(cap.per))] += points
        else:
            if owner is not None and rule.limit:
                owner.usage[(rule.counter, clock.key(rule.limit.per))] += 1
            limit = rule.referral.referrer_limit
            for member_id, _, _ in awards:
                if member_id != owner_id and limit and member_id in members:
                    members[member_id].usage[(rule.referrer_counter, clock.key(limit.per))] += 1
        if owner is not None:
            qualifying = sum(p for m, p, spend in awards if m == owner_id and spend)
            if qualifying:
                owner.qualifying[program_day(program, occurred_at)] += qualifying


def _replay(candidate: Program, events, members: dict[str, MemberRun]) -> tuple[Counter, Counter, dict]:
    by_rule, moves, progress = Counter(), Counter(), backtest_progress.counts()
    for event in events:
        member = members[event.member_id]
        referrer = members.get(member.referred_by_id) if event.type == PURCHASE else None
        evaluation = evaluate(candidate, _facts(event), MemberFacts(
            member_id=member.id, tier_id=_tier(candidate, member.tier_id).id, email=member.email,
            referred=member.referred_by_id is not None, usage=member.usage,
            referrer=ReferrerFacts(referrer.id, referrer.email, referrer.status, referrer.usage)
            if referrer else None,
            **backtest_progress.facts(candidate, member, event.type, event.occurred_at)))
        backtest_progress.advance(candidate, member, event.occurred_at, evaluation, progress)
        for increment in evaluation.usage:
            members[increment.member_id].usage[(increment.counter_id, increment.period_key)] += increment.amount
        qualifying = 0
        for award in evaluation.awards:
            by_rule[award.rule_id] += award.points
            members[award.member_id].candidate_points += award.points
            if award.member_id == member.id and award.tier_qualifying:
                qualifying += award.points
        if qualifying:
            member.qualifying[program_day(candidate, event.occurred_at)] += qualifying
            moved = _upgrade(candidate, member, event.occurred_at)
            if moved:
                moves[moved] += 1
    return by_rule, moves, progress


def _upgrade(program: Program, member: MemberRun, now: datetime) -> tuple[str, str] | None:
    """As ``tiers.upgrade_if_qualified``: up only, right after the event that reaches a threshold."""
    today = program_day(program, now)
    first_day = today - timedelta(days=program.qualifying_window.days - 1)
    total = sum(points for day, points in member.qualifying.items() if first_day <= day <= today)
    target = program.tier_for_points(total)
    current = _tier(program, member.tier_id)
    if target.qualifying_points <= current.qualifying_points:
        return None
    member.tier_id = target.id
    return current.id, target.id


def _tier(program: Program, tier_id: str | None) -> Tier:
    try:
        return program.tier(tier_id) if tier_id else program.base_tier
    except KeyError:
        return program.base_tier


def _facts(event) -> EventFacts:
    return EventFacts(
        type=event.type, occurred_at=event.occurred_at, amount=event.amount, currency=event.currency,
        store_id=event.store_id, channel=event.channel,
        items=tuple(Item(sku=i.get("sku"), category=i.get("category"), quantity=i["quantity"],
                         unit_amount=i["unit_amount"]) for i in event.items or ()),
        attributes=event.attributes or {},
    )


def _report(candidate: Program, actual: Program, start: datetime, end: datetime, event_count: int,
            members: dict[str, MemberRun], by_rule_actual: Counter, by_rule_candidate: Counter,
            moves_actual: Counter, moves_candidate: Counter, top: int) -> dict:
    def line(old: int, new: int) -> dict:
        return {
            "actual_points": old, "candidate_points": new, "difference": new - old,
            "actual_liability": old * actual.point_value, "candidate_liability": new * candidate.point_value,
            "liability_difference": new * candidate.point_value - old * actual.point_value,
        }

    candidate_ids = [r.id for r in candidate.rules] + [x.id for x in candidate.progress_items() if x.points]
    rule_ids = candidate_ids + sorted(set(by_rule_actual) - set(candidate_ids), key=str)
    affected = [m for m in members.values()
                if m.candidate_points != m.actual_points or _tier(candidate, m.tier_id).id != m.actual_tier]
    affected.sort(key=lambda m: (-abs(m.candidate_points - m.actual_points), m.id))
    return {
        "from": start, "to": end, "currency": candidate.currency, "point_value": candidate.point_value,
        "events": event_count,
        "members": sum(1 for m in members.values() if m.actual_points or m.candidate_points),
        "totals": line(sum(by_rule_actual.values()), sum(by_rule_candidate.values())),
        "rules": [{"rule_id": rule_id, "in_candidate": rule_id in candidate_ids,
                   **line(by_rule_actual.get(rule_id, 0), by_rule_candidate.get(rule_id, 0))}
                  for rule_id in rule_ids],
        "members_affected": len(affected),
        "members_most_affected": [{
            "member_id": m.id, "external_id": m.external_id,
            "actual_points": m.actual_points, "candidate_points": m.candidate_points,
            "difference": m.candidate_points - m.actual_points,
            "tier_at_start": m.tier_at_start, "actual_tier": m.actual_tier,
            "candidate_tier": _tier(candidate, m.tier_id).id,
        } for m in affected[:top]],
        "tier_moves": [{"from_tier": old, "to_tier": new, "actual": moves_actual.get((old, new), 0),
                        "candidate": moves_candidate.get((old, new), 0)}
                       for old, new in sorted(set(moves_actual) | set(moves_candidate), key=str)],
    }

