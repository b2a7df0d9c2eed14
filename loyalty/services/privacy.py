"""Personal data: erase it on request (the ledger stays), or export everything held about a member.

Erasure rule: an erased member keeps its ``mem_…`` id, its ledger, events and
redemptions (the accounts must still add up), and loses everything that names
a person: email, phone, names, birthday, Stripe customer id, and its
``external_id``. Without an external_id nothing can reach the old account by
the merchant's customer id again: enrolling that external_id creates a new
member with an empty history, events naming it are ``404``, and the old
``mem_…`` id answers ``409 member_inactive`` to every write.
"""

import json
from datetime import datetime

from sqlalchemy import delete, inspect, select, update
from sqlalchemy.orm import Session

from loyalty import outbox
from loyalty.db.transactions import lock_members
from loyalty.errors import NotFound, error_body
from loyalty.models import (
    Event,
    IdempotencyRecord,
    LedgerEntry,
    Lot,
    Member,
    MemberAlias,
    MemberDay,
    OutboxEvent,
    Redemption,
    Refund,
    RuleUsage,
    StripeEvent,
    TierChange,
)
from loyalty.services import audit
from loyalty.services.events import explanations_of

PERSONAL_FIELDS = ("external_id", "email", "phone", "first_name", "last_name", "birthday", "stripe_customer_id")
STRIPE_PERSONAL_FIELDS = ("email", "stripe_customer_id", "client_reference_id")


def erase(session: Session, member_id: str, actor: str | None, now: datetime) -> Member:
    """Blank the member's personal data everywhere it is copied; idempotent."""
    merged = _merged_into(session, member_id)
    locked = lock_members(session, [member_id, *merged])
    member = locked.get(member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.")
    if member.status == "erased":
        return member
    member.status = "erased"
    # The members merged into it are the same person: their rows lose the personal data too (they stay
    # ``merged``), and their external ids and emails stop finding anyone.
    for person in [member, *(locked[merged_id] for merged_id in merged if merged_id in locked)]:
        _blank(session, person)
    session.execute(delete(MemberAlias).where(MemberAlias.member_id == member_id))
    outbox.emit(session, "member.erased", member_id, {"member_id": member_id, "erased_by": actor}, now)
    audit.record(session, actor, "erasure", member_id, now, details={"merged_members": merged} if merged else None)
    return member


def _merged_into(session: Session, member_id: str) -> list[str]:
    """The members merged into this one, directly or through another merge."""
    found, frontier = [], [member_id]
    while frontier:
        frontier = list(session.scalars(select(Member.id).where(Member.merged_into_id.in_(frontier))))
        found.extend(frontier)
    return found


def _blank(session: Session, member: Member) -> None:
    for name in PERSONAL_FIELDS:
        setattr(member, name, None)
    member.email_opt_in = False
    _scrub_outbox(session, member.id)
    session.execute(
        update(StripeEvent).where(StripeEvent.member_id == member.id)
        .values(**dict.fromkeys(STRIPE_PERSONAL_FIELDS))
    )
    # Stored answers to keyed requests hold the member as it was; a replay now says it is erased.
    # They are stored packed, so they are found by the member they are about, not by their text.
    session.execute(
        update(IdempotencyRecord).where(IdempotencyRecord.member_id == member.id)
        .values(status_code=409, body=_erased_body(member.id))
        .execution_options(synchronize_session=False)
    )


def _scrub_outbox(session: Session, member_id: str) -> None:
    """Undelivered (and delivered) events carry what they carry after erasure: no personal data."""
    for event in session.scalars(select(OutboxEvent).where(OutboxEvent.member_id == member_id,
                                                           OutboxEvent.type == "member.enrolled")):
        data = dict(event.data)
        data["member"] = {**data.get("member", {}), **dict.fromkeys(PERSONAL_FIELDS), "email_opt_in": False}
        event.data = data


def _erased_body(member_id: str) -> str:
    body = error_body("member_inactive", f"Member {member_id} is erased.")
    return json.dumps(body, separators=(",", ":"))


def export(session: Session, member_id: str, now: datetime) -> dict:
    """Every row held about the member, column by column, oldest first."""
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.")
    event_ids = select(Event.id).where(Event.member_id == member_id)
    events = session.scalars(select(Event).where(Event.member_id == member_id).order_by(Event.recorded_at)).all()
    explained = explanations_of(events)
    return {
        "exported_at": now,
        "member": _row(member),
        "events": [{**_row(event), "explanation": explained[event.id]} for event in events],
        "refunds": _rows(session, select(Refund).where(Refund.event_id.in_(event_ids)).order_by(Refund.created_at)),
        "transactions": _rows(session, select(LedgerEntry).where(LedgerEntry.member_id == member_id)
                              .order_by(LedgerEntry.seq)),
        "lots": _rows(session, select(Lot).where(Lot.member_id == member_id).order_by(Lot.id)),
        "redemptions": _rows(session, select(Redemption).where(Redemption.member_id == member_id)
                             .order_by(Redemption.issued_at)),
        "tier_changes": _rows(session, select(TierChange).where(TierChange.member_id == member_id)
                              .order_by(TierChange.id)),
        "member_days": [{**_row(day), "usage": json.loads(day.usage) if day.usage else None} for day in session.scalars(
            select(MemberDay).where(MemberDay.member_id == member_id).order_by(MemberDay.day))],
        "rule_usage": _rows(session, select(RuleUsage).where(RuleUsage.member_id == member_id)),
        "stripe_events": _rows(session, select(StripeEvent).where(StripeEvent.member_id == member_id)
                               .order_by(StripeEvent.received_at)),
        "webhook_events": _rows(session, select(OutboxEvent).where(OutboxEvent.member_id == member_id)
                                .order_by(OutboxEvent.seq)),
    }


def _rows(session: Session, query) -> list[dict]:
    return [_row(obj) for obj in session.scalars(query)]


def _row(obj) -> dict:
    return {attr.key: outbox.jsonable(getattr(obj, attr.key)) for attr in inspect(obj).mapper.column_attrs}
