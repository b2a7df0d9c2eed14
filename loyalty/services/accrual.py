"""Recording customer actions and turning them into points."""

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.db import held_rows
from loyalty.engine import (
    Award,
    Evaluation,
    EventFacts,
    Item,
    MemberFacts,
    ReferrerFacts,
    evaluate,
    lifecycle_stage,
    stored_explanation,
)
from loyalty.errors import IdempotencyConflict, MemberInactive, NotFound, ValidationFailed
from loyalty.ids import new_id
from loyalty.models import Event, Member
from loyalty.services import cards, challenges, counters, identity, streaks, tier_review
from loyalty.services.event_checks import event_errors
from loyalty.services.member_view import MemberReads, read_member, with_new_lots
from loyalty.services.rules import ActiveRules
from loyalty.services.tiers import current_tier, program_day, upgrade_if_qualified

INSERT_EVENT = Event.__table__.insert()
MAX_FUTURE = timedelta(minutes=5)
MAX_PAST = timedelta(days=90)
PURCHASE = "purchase"


@dataclass(frozen=True)
class EventInput:
    type: str
    member_id: str | None = None
    external_id: str | None = None
    source_id: str | None = None
    occurred_at: datetime | None = None
    amount: int | None = None
    currency: str | None = None
    store_id: str | None = None
    channel: str | None = None
    items: tuple[Item, ...] = ()
    attributes: dict = field(default_factory=dict)


@dataclass
class EventOutcome:
    event: dict  # the events row as written
    member: Member
    evaluation: Evaluation
    expiring_soon: list[dict]  # the member's, for ``member_view``
    card_rows: list[cards.CardRow]  # the member's cards after the event, for ``member_view``


def check_event(rules: ActiveRules, data: EventInput, now: datetime, historical: bool = False) -> datetime:
    """Reject what the rules cannot take; returns the event's occurred_at. Only an import of
    ``historical`` events may go back more than ``MAX_PAST``."""
    program = rules.program
    occurred_at = data.occurred_at or now
    fields: dict[str, list[str]] = {}
    if occurred_at > now + MAX_FUTURE:
        fields["occurred_at"] = ["may not be more than 5 minutes in the future"]
    elif occurred_at < now - MAX_PAST and not historical:
        fields["occurred_at"] = ["may not be more than 90 days in the past"]
    fields.update(event_errors(program, data))
    if not data.member_id and not data.external_id:
        fields["member_id"] = ["member_id or external_id is required"]
    if fields:
        raise ValidationFailed(fields)
    return occurred_at


def find_member_for_update(session: Session, member_id: str | None, external_id: str | None) -> Member:
    """The member an event names, locked; a merged member's events go to the member it was merged into."""
    if member_id is None:
        member_id = (session.scalar(select(Member.id).where(Member.external_id == external_id))
                     or identity.aliased(session, "external_id", external_id))
    member = identity.lock_current(session, member_id)
    if member is None:
        raise NotFound("No member with that id." if external_id is None
                       else f"No member with external_id {external_id!r}.")
    return member


def record_event(session: Session, rules: ActiveRules, data: EventInput, actor: str | None,
                 now: datetime) -> EventOutcome:
    """POST /v1/events: validate, lock the member, evaluate, post to the ledger."""
    occurred_at = check_event(rules, data, now)
    member = find_member_for_update(session, data.member_id, data.external_id)
    if member.status != "active":
        raise MemberInactive(f"Member {member.id} is {member.status}.")
    return apply_event(session, rules, member, data, occurred_at, actor, now)


def preview_event(session: Session, rules: ActiveRules, data: EventInput, now: datetime) -> Evaluation:
    occurred_at = check_event(rules, data, now)
    member_id = data.member_id or session.scalar(
        select(Member.id).where(Member.external_id == data.external_id)
    ) or identity.aliased(session, "external_id", data.external_id)
    member = session.get(Member, identity.current_id(session, member_id)) if member_id else None
    if member is None:
        raise NotFound("No such member.")
    referrer = session.get(Member, member.referred_by_id) if member.referred_by_id else None
    day = program_day(rules.program, occurred_at)
    _, member_facts = _read_member_facts(session, rules, member, referrer, data, occurred_at, day, now)
    return evaluate(rules.program, _facts(data, occurred_at), member_facts)


def apply_event(session: Session, rules: ActiveRules, member: Member, data: EventInput,
                occurred_at: datetime, actor: str | None, now: datetime, *,
                locked: dict[str, Member] | None = None, endpoints: list | None = None) -> EventOutcome:
    """Evaluate one event for a locked member and write everything it causes.

    A repeated ``source_id`` is caught by its unique index when the event row
    is inserted, which also settles two racing requests on different members.
    A batch passes the members it ``locked`` already (the referrer among them:
    locking again would reload it over changes not yet flushed) and the
    webhook ``endpoints`` it read once.
    """
    with session.no_autoflush:
        return _apply_event(session, rules, member, data, occurred_at, actor, now, locked, endpoints)


def _apply_event(session: Session, rules: ActiveRules, member: Member, data: EventInput,
                 occurred_at: datetime, actor: str | None, now: datetime,
                 locked: dict[str, Member] | None, endpoints: list | None) -> EventOutcome:
    program = rules.program
    tier_review.review_member(session, program, member, now)  # a hold that ended gives no multiplier
    referrer = None
    if data.type == PURCHASE and member.referred_by_id:
        referrer = (locked or {}).get(member.referred_by_id)
        if referrer is None or referrer.merged_into_id is not None:
            referrer = identity.lock_current(session, member.referred_by_id)  # a merged referrer's survivor
        if referrer is not None and referrer.id == member.id:
            referrer = None
    # The member view's reads come with the counters': the answer then needs no read after the write.
    day = program_day(program, occurred_at)
    reads, member_facts = _read_member_facts(session, rules, member, referrer, data, occurred_at, day, now)
    facts = _facts(data, occurred_at)
    evaluation = evaluate(program, facts, member_facts)
    event = {
        "id": new_id("evt"), "member_id": member.id, "type": data.type, "source_id": data.source_id,
        "occurred_at": occurred_at, "recorded_at": now, "amount": data.amount, "currency": data.currency,
        "store_id": data.store_id, "channel": data.channel,
        "items": [asdict(item) for item in data.items] or None, "attributes": data.attributes or None,
        "rules_version": rules.version, "actor": actor,
        "explanation": stored_explanation(evaluation.explanation, facts),
        "refundable_points": sum(a.points for a in evaluation.awards
                                 if a.member_id == member.id and a.spend_based),
        "refunded_amount": 0, "reversed_points": 0,
    }
    insert_event(session, event)
    people = {member.id: member, **({referrer.id: referrer} if referrer else {})}
    earned, new_lots = _post_awards(session, rules, people, event, evaluation.awards, actor, now)
    qualifying = sum(a.points for a in evaluation.awards if a.member_id == member.id and a.tier_qualifying)
    counters.add_usages(session, [(i.member_id, i.counter_id, i.period_key, i.amount) for i in evaluation.usage],
                        {(member.id, day): qualifying} if qualifying else None)
    card_rows = reads.card_rows
    if evaluation.stamps or evaluation.steps or evaluation.streak_steps:
        card_rows = cards.record_stamps(session, rules, member, event, evaluation.stamps, actor, now, card_rows)
        challenges.record(session, program, member, event, evaluation.steps, now)
        streaks.record(session, program, member, event, evaluation.streak_steps, now)
    if data.type == PURCHASE:
        count_purchase(member, occurred_at)
    if referrer is not None and referrer.id in earned:
        referrer.referrals_earned += 1
        refresh_lifecycle(rules, referrer, now)
    member.last_activity_at = now
    refresh_lifecycle(rules, member, now)
    if earned:
        endpoints = outbox.subscribed_endpoints(session) if endpoints is None else endpoints
        for person_id, data_earned in earned.items():
            outbox.emit(session, "points.earned", person_id, data_earned, now, endpoints=endpoints)
    if qualifying:
        upgrade_if_qualified(session, program, member, now, event["id"])
    expiring_soon = with_new_lots(reads.expiring_soon, new_lots, now)
    return EventOutcome(event, member, evaluation, expiring_soon, card_rows)


def insert_event(session: Session, event: dict) -> None:
    """Write the event row; a ``source_id`` already recorded is ``idempotency_conflict``."""
    try:
        held_rows.insert(session, INSERT_EVENT, [event])
    except IntegrityError as error:
        if event["source_id"] is None or not _duplicate_source_id(error):
            raise
        raise IdempotencyConflict(f"An event with source_id {event['source_id']!r} is already recorded.",
                                  {"source_id": event["source_id"]}) from None


def _post_awards(session: Session, rules: ActiveRules, people: dict[str, Member], event: dict,
                 awards: tuple[Award, ...], actor: str | None, now: datetime) -> tuple[dict, list[dict]]:
    """Credit each person's awards; returns the ``points.earned`` data per person and the member's new lots."""
    posting = ledger.Posting(now=now, actor=actor, rules_version=rules.version, event_id=event["id"])
    earned, member_lots = {}, []
    for person_id, person in people.items():
        theirs = [a for a in awards if a.member_id == person_id]
        if theirs:
            credited = ledger.credit(session, person, [_credit(a) for a in theirs], posting)
            earned[person_id] = _earned_data(event, person, theirs)
            if person_id == event["member_id"]:
                member_lots = credited.lots
    return earned, member_lots


def _duplicate_source_id(error: IntegrityError) -> bool:
    diagnostics = getattr(error.orig, "diag", None)  # psycopg names the constraint; sqlite3 only says it
    if diagnostics is not None:
        return diagnostics.constraint_name == "uq_events_source_id"
    return "events.source_id" in str(error.orig)


def refresh_lifecycle(rules: ActiveRules, member: Member, now: datetime) -> None:
    member.lifecycle_stage = lifecycle_stage(
        rules.program, member.purchase_count, member.last_purchase_at, member.referrals_earned, now
    )


def count_purchase(member: Member, occurred_at: datetime) -> None:
    member.purchase_count += 1
    if member.purchase_count == 1:
        member.first_purchase_at = occurred_at
    elif member.purchase_count == 2:
        member.second_purchase_at = occurred_at
    if member.last_purchase_at is None or occurred_at > member.last_purchase_at:
        member.last_purchase_at = occurred_at


def _earned_data(event: dict, member: Member, awards: list[Award]) -> dict:
    return {
        "member_id": member.id, "event_id": event["id"], "event_type": event["type"],
        "source_id": event["source_id"],
        "points": sum(a.points for a in awards), "balance": member.balance, "pending": member.pending,
        "awards": [{"rule_id": a.rule_id, "points": a.points, "status": a.status, "available_at": a.available_at,
                    "expires_at": a.expires_at} for a in awards],
    }


def _credit(award: Award) -> ledger.Credit:
    return ledger.Credit(
        points=award.points, rule_id=award.rule_id, available_at=award.available_at,
        expires_at=award.expires_at, pending=award.status == "pending", spend_based=award.spend_based,
    )


def _facts(data: EventInput, occurred_at: datetime) -> EventFacts:
    return EventFacts(
        type=data.type, occurred_at=occurred_at, amount=data.amount, currency=data.currency,
        store_id=data.store_id, channel=data.channel, items=tuple(data.items),
        attributes=data.attributes or {},
    )


def _read_member_facts(session: Session, rules: ActiveRules, member: Member, referrer: Member | None,
                       data: EventInput, occurred_at: datetime, day: date, now: datetime
                       ) -> tuple[MemberReads, MemberFacts]:
    """The member's reads for an event on program ``day`` (its counters, points expiring soon and
    stamp cards, in one statement) and what the engine knows of the member."""
    program = rules.program
    keys = program.usage_keys(data.type, occurred_at)
    reads = read_member(session, program, member.id, now, keys.member, day)
    referrer_facts = None
    if referrer is not None:
        referrer_facts = ReferrerFacts(
            member_id=referrer.id, email=referrer.email, status=referrer.status,
            usage=counters.usage_for(session, referrer.id, keys.referrer),
        )
    return reads, MemberFacts(
        member_id=member.id, tier_id=current_tier(program, member).id, email=member.email,
        referred=member.referred_by_id is not None, referrer=referrer_facts, usage=reads.usage,
        cards=reads.cards if data.type == PURCHASE else {},
        challenges=challenges.progress(session, program, member.id, data.type, occurred_at),
        streaks=streaks.states(session, program, member.id, data.type),
    )
