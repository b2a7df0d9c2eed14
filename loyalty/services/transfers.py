"""Members giving each other points, when the program allows it (``transfers:`` in the YAML)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.db.transactions import lock_members
from loyalty.errors import InvalidState, MemberInactive, NotFound, ValidationFailed
from loyalty.ids import new_id
from loyalty.models import Member, PointTransfer
from loyalty.services import audit, identity
from loyalty.services.rules import ActiveRules


@dataclass(frozen=True)
class TransferOutcome:
    transfer: PointTransfer
    sender: Member
    receiver: Member


def transfer(session: Session, rules: ActiveRules, from_member_id: str, to_member_id: str, points: int,
             note: str | None, actor: str | None, now: datetime) -> TransferOutcome:
    policy = rules.program.transfers
    if not policy.enabled:
        raise InvalidState("This program does not allow transfers of points between members.",
                           {"transfers": "disabled"})
    if points < policy.min_points:
        raise ValidationFailed({"points": [f"must be at least {policy.min_points} (the program's min_points)"]})
    sender_id, receiver_id = _current(session, from_member_id), _current(session, to_member_id)
    if receiver_id is None:
        raise ValidationFailed({"to_member_id": [f"no member {to_member_id}"]})
    if sender_id is None:
        raise NotFound(f"No member {from_member_id}.")
    if sender_id == receiver_id:
        raise ValidationFailed({"to_member_id": ["must be another member than the one giving the points"]})
    locked = lock_members(session, [sender_id, receiver_id])  # both, in id order, as every writer does
    sender, receiver = locked[sender_id], locked[receiver_id]
    for member in (sender, receiver):
        if member.merged_into_id is not None:  # merged while this waited for the locks
            raise InvalidState(f"Member {member.id} was just merged; try again.", {"member_id": member.id})
        if member.status != "active":
            raise MemberInactive(f"Member {member.id} is {member.status}.", {"member_id": member.id})
    if policy.max_points_per_month is not None:
        _check_month(session, rules, sender.id, points, policy.max_points_per_month, now)
    transfer_id = new_id("trf")
    reason = f"Transfer {transfer_id}" + (f": {note}" if note else "")
    posting = dict(now=now, actor=actor, rules_version=rules.version, reason=reason)
    ledger.transfer_points(session, sender, receiver, points, ledger.Posting(**posting), ledger.Posting(**posting))
    row = PointTransfer(id=transfer_id, from_member_id=sender.id, to_member_id=receiver.id, points=points,
                        note=note, actor=actor, created_at=now)
    session.add(row)
    for member, direction in ((sender, "sent"), (receiver, "received")):
        member.last_activity_at = now
        outbox.emit(session, "points.transferred", member.id, {
            "member_id": member.id, "transfer_id": transfer_id, "direction": direction, "points": points,
            "from_member_id": sender.id, "to_member_id": receiver.id, "balance": member.balance,
        }, now)
    audit.record(session, actor, "transfer", sender.id, now, note,
                 {"transfer_id": transfer_id, "to_member_id": receiver.id, "points": points,
                  "balance_after": sender.balance})
    return TransferOutcome(row, sender, receiver)


def _current(session: Session, member_id: str) -> str | None:
    if session.scalar(select(Member.id).where(Member.id == member_id)) is None:
        return None
    return identity.current_id(session, member_id)


def _check_month(session: Session, rules: ActiveRules, member_id: str, points: int, most: int,
                 now: datetime) -> None:
    """At most ``most`` points sent in a calendar month of the program's timezone."""
    local = now.astimezone(rules.program.timezone)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    sent = int(session.scalar(select(func.coalesce(func.sum(PointTransfer.points), 0)).where(
        PointTransfer.from_member_id == member_id, PointTransfer.created_at >= month_start)))
    if sent + points > most:
        raise InvalidState(
            f"Transfers are limited to {most} points a month; {sent} sent this month, so at most "
            f"{max(0, most - sent)} more.",
            {"max_points_per_month": most, "sent_this_month": sent, "requested": points,
             "remaining": max(0, most - sent)})
