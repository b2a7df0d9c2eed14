"""Spending points on rewards: issue a code, complete it at checkout, or void it.

Every path locks the member row first, so a redemption, a void and a
completion of the same member never interleave, on any number of processes.
Stock is taken with a conditional UPDATE, which the database serializes.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.db.pagination import decode_cursor, encode_cursor
from loyalty.db.transactions import lock_members, undo_on_rollback
from loyalty.engine import Program
from loyalty.engine.rewards import DEFAULT_CODE_VALID_DAYS, Reward
from loyalty.errors import InvalidState, MemberInactive, NotFound, RewardUnavailable, ValidationFailed
from loyalty.ids import new_id
from loyalty.models import LedgerEntry, Member, Redemption, RewardStock
from loyalty.services import identity, tier_review
from loyalty.services.rules import ActiveRules
from loyalty.services.tiers import current_tier

#: Crockford-style: no 0/O, 1/I/L or U, so a code read aloud at a till is unambiguous.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 10  # ≈ 49 bits: unguessable, and short enough to type


@dataclass
class RedemptionOutcome:
    redemption: Redemption
    member: Member


def new_code() -> str:
    """``XXXXX-XXXXX``; lookups ignore case and dashes."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize_code(text: str) -> str:
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == CODE_LENGTH else text


def redeem(session: Session, rules: ActiveRules, member_id: str, reward_id: str, actor: str | None,
           now: datetime, stripe=None) -> RedemptionOutcome:
    """Exchange points for a reward.

    Stripe is asked for the promotion code last, once every check has passed;
    if it fails, the caller's transaction rolls back and no points move.
    """
    program = rules.program
    reward = program.reward(reward_id)
    if reward is None:
        raise NotFound(f"No reward {reward_id!r} in the catalog.", {"reward_id": reward_id})
    member = identity.lock_current(session, member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.")
    if member.status != "active":
        raise MemberInactive(f"Member {member.id} is {member.status}.")
    tier_review.review_member(session, program, member, now)  # an ended hold no longer opens rewards
    reason = reward.unavailable_reason(current_tier(program, member).id, now, program.timezone,
                                      program.tier_names)
    if reason:
        raise RewardUnavailable(reason, {"reward_id": reward.id})
    redemption_id = new_id("rdm")
    posting = ledger.Posting(now=now, actor=actor, rules_version=rules.version,
                             reason=f"Redeemed {reward.name}")
    entry = ledger.debit(session, member, reward.points_cost, "redeem", posting, allow_negative=False,
                         redemption_id=redemption_id)
    if reward.stock is not None:
        _take_stock(session, reward)
    code = new_code()
    expires_at = now + timedelta(days=reward.code_valid_days)
    promotion = None
    if reward.stripe and stripe is not None:
        promotion = stripe.create_promotion_code(
            reward=reward, code=code, redemption_id=redemption_id, member_id=member.id,
            customer_id=member.stripe_customer_id, expires_at=expires_at,
        )
        undo_on_rollback(session, lambda: deactivate_unless_redeemed(session.get_bind(), stripe, promotion.id,
                                                                     redemption_id))
    redemption = Redemption(
        id=redemption_id, member_id=member.id, reward_id=reward.id, points_spent=reward.points_cost,
        code=code, status="issued", issued_at=now, expires_at=expires_at, entry_seq=entry["seq"],
        stripe_promotion_code=promotion.id if promotion else None,
        stripe_coupon=promotion.coupon_id if promotion else None,
        rules_version=rules.version, actor=actor,
    )
    session.add(redemption)
    session.flush()
    outbox.emit(session, "reward.redeemed", member.id, _webhook_data(redemption, member), now)
    return RedemptionOutcome(redemption, member)


def deactivate_unless_redeemed(bind, stripe, promotion_code_id: str, redemption_id: str) -> bool:
    """Deactivate a promotion code made for a redemption the database does not hold (its transaction
    rolled back, or never committed); True if it did. Read on a connection of its own: a commit whose
    answer was lost may still have recorded the redemption, and its code must then stay."""
    with bind.connect() as connection:
        if connection.scalar(select(Redemption.id).where(Redemption.id == redemption_id)) is not None:
            return False
    stripe.deactivate_promotion_code(promotion_code_id)
    return True


def issue_for_card(session: Session, rules: ActiveRules, member: Member, reward_id: str, card_id: str,
                   actor: str | None, now: datetime) -> Redemption:
    """The code a completed stamp card gives: the reward at no point cost, so no ledger entry and
    no change to balance, lifetime figures or tier. The caller holds the member's lock."""
    reward = rules.program.reward(reward_id)
    valid_days = reward.code_valid_days if reward is not None else DEFAULT_CODE_VALID_DAYS
    redemption = Redemption(
        id=new_id("rdm"), member_id=member.id, reward_id=reward_id, points_spent=0, code=new_code(),
        status="issued", issued_at=now, expires_at=now + timedelta(days=valid_days), entry_seq=None,
        card_id=card_id, rules_version=rules.version, actor=actor,
    )
    session.add(redemption)
    session.flush()
    return redemption


def lookup(session: Session, id_or_code: str) -> Redemption:
    redemption = session.get(Redemption, id_or_code) or session.scalar(
        select(Redemption).where(Redemption.code == normalize_code(id_or_code))
    )
    if redemption is None:
        raise NotFound("No redemption with that id or code.")
    return redemption


def complete(session: Session, redemption_id: str, actor: str | None, now: datetime) -> Redemption:
    """Mark a code as applied at checkout; completing it again changes nothing."""
    redemption = _locked(session, redemption_id)
    if redemption.status == "completed":
        return redemption
    _require_issued(redemption, now, "completed")
    redemption.status = "completed"
    redemption.completed_at = now
    return redemption


def void(session: Session, rules: ActiveRules, redemption_id: str, actor: str | None, now: datetime,
         stripe=None) -> RedemptionOutcome:
    """Cancel a redemption: the points go back to the lots they left, with their
    original expiry, and a stocked reward gets its unit back."""
    redemption = _locked(session, redemption_id)
    status = effective_status(redemption, now)
    if status not in ("issued", "completed"):
        raise InvalidState(f"A {status} redemption cannot be voided.", {"status": status})
    if redemption.stripe_promotion_code and stripe is not None:
        stripe.deactivate_promotion_code(redemption.stripe_promotion_code)
    member = identity.lock_current(session, redemption.member_id)  # a merged member's points went on
    if redemption.entry_seq is not None:  # a card's code cost no points
        debit_entry = session.scalar(select(LedgerEntry).where(LedgerEntry.seq == redemption.entry_seq))
        posting = ledger.Posting(now=now, actor=actor, rules_version=rules.version,
                                 reason=f"Voided redemption {redemption.code}")
        ledger.restore(session, member, debit_entry, "void", posting)
    reward = rules.program.reward(redemption.reward_id)
    if reward is not None and reward.stock is not None:
        session.execute(update(RewardStock).where(RewardStock.reward_id == reward.id, RewardStock.issued > 0)
                        .values(issued=RewardStock.issued - 1))
    redemption.status = "voided"
    redemption.voided_at = now
    outbox.emit(session, "redemption.voided", member.id, _webhook_data(redemption, member), now)
    return RedemptionOutcome(redemption, member)


def _webhook_data(redemption: Redemption, member: Member) -> dict:
    return {"member_id": member.id, "redemption_id": redemption.id, "reward_id": redemption.reward_id,
            "points": redemption.points_spent, "code": redemption.code, "status": redemption.status,
            "balance": member.balance}


def expire_unused(session: Session, now: datetime, limit: int = 1000) -> int:
    """Codes never used within their validity become ``expired``; their points stay spent."""
    due = select(Redemption.id).where(Redemption.status == "issued", Redemption.expires_at <= now).limit(limit)
    return session.execute(
        # status is checked again on the row itself: a void committed meanwhile must win.
        update(Redemption).where(Redemption.id.in_(due), Redemption.status == "issued").values(status="expired")
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    ).rowcount


def member_redemptions(session: Session, member_id: str, limit: int, cursor: str | None,
                       status: str | None = None) -> tuple[list[Redemption], str | None]:
    if session.get(Member, member_id) is None:
        raise NotFound(f"No member {member_id}.")
    # The codes of a member merged into this one are still valid here, so they are listed here too.
    query = select(Redemption).where(Redemption.member_id.in_(identity.merged_in(session, member_id)))
    if status:
        query = query.where(Redemption.status == status)
    after = decode_cursor(cursor)
    if after is not None:
        issued_at, last_id = _redemption_cursor(after)
        query = query.where((Redemption.issued_at < issued_at)
                            | ((Redemption.issued_at == issued_at) & (Redemption.id < last_id)))
    rows = session.scalars(query.order_by(Redemption.issued_at.desc(), Redemption.id.desc())
                           .limit(limit + 1)).all()
    last = rows[limit - 1] if len(rows) > limit else None
    return rows[:limit], (encode_cursor(last.issued_at.isoformat(), last.id) if last else None)


def _redemption_cursor(values: list) -> tuple[datetime, str]:
    try:
        issued_at, last_id = values
        return datetime.fromisoformat(issued_at), str(last_id)
    except (TypeError, ValueError):
        raise ValidationFailed({"cursor": ["not a cursor this service issued"]}) from None


def effective_status(redemption: Redemption, now: datetime) -> str:
    """What a till should believe: an issued code past its validity is expired even
    before the job has marked it."""
    if redemption.status == "issued" and redemption.expires_at <= now:
        return "expired"
    return redemption.status


def reward_catalog(session: Session, rules: ActiveRules, member: Member | None, now: datetime) -> list[dict]:
    program = rules.program
    issued = dict(session.execute(select(RewardStock.reward_id, RewardStock.issued)).all())
    spendable = ledger.spendable_points(session, member.id, now) if member is not None else None
    return [_catalog_entry(program, reward, issued.get(reward.id, 0), member, spendable, now)
            for reward in program.rewards]


def _catalog_entry(program: Program, reward: Reward, issued: int, member: Member | None,
                   spendable: int | None, now: datetime) -> dict:
    remaining = None if reward.stock is None else max(0, reward.stock - issued)
    entry = {
        "id": reward.id, "name": reward.name, "description": reward.description,
        "points_cost": reward.points_cost, "type": reward.type, "value": reward.value,
        "currency": reward.currency, "tiers": list(reward.tiers or (t.id for t in program.tiers)),
        "stock_remaining": remaining, "available_from": reward.available_from,
        "available_until": reward.available_until, "code_valid_days": reward.code_valid_days,
        "stripe": reward.stripe,
    }
    if member is not None:
        reason = ineligibility(program, reward, member, spendable, remaining, now)
        entry["eligible"] = reason is None
        entry["ineligible_reason"] = reason
    return entry


def ineligibility(program: Program, reward: Reward, member: Member, spendable: int, remaining: int | None,
                  now: datetime) -> str | None:
    if member.status != "active":
        return f"The membership is {member.status}."
    reason = reward.unavailable_reason(current_tier(program, member).id, now, program.timezone,
                                      program.tier_names)
    if reason:
        return reason
    if remaining == 0:
        return "Out of stock."
    if spendable < reward.points_cost:
        return f"{reward.points_cost - spendable:,} more points needed."
    return None


def _take_stock(session: Session, reward: Reward) -> None:
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert
    session.execute(insert(RewardStock).values(reward_id=reward.id, issued=0)
                    .on_conflict_do_nothing(index_elements=["reward_id"]))
    taken = session.execute(
        update(RewardStock).where(RewardStock.reward_id == reward.id, RewardStock.issued < reward.stock)
        .values(issued=RewardStock.issued + 1)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    ).rowcount
    if not taken:
        raise RewardUnavailable(f"{reward.name} is out of stock.", {"reward_id": reward.id, "stock": reward.stock})


def _locked(session: Session, redemption_id: str) -> Redemption:
    redemption = lookup(session, redemption_id)
    lock_members(session, [redemption.member_id])
    session.refresh(redemption)
    return redemption


def _require_issued(redemption: Redemption, now: datetime, target: str) -> None:
    status = effective_status(redemption, now)
    if status != "issued":
        raise InvalidState(f"A {status} redemption cannot be {target}.", {"status": status})
