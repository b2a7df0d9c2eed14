"""Manual corrections by an operator: always a new entry with a reason."""

from datetime import datetime

from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.db.transactions import lock_members
from loyalty.errors import MemberInactive, NotFound
from loyalty.models import LedgerEntry, Member
from loyalty.services import audit, identity
from loyalty.services.rules import ActiveRules


def adjust(session: Session, rules: ActiveRules, member_id: str, points: int, reason: str,
           actor: str | None, now: datetime) -> tuple[LedgerEntry, Member]:
    member = lock_members(session, [member_id]).get(member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.")
    identity.refuse_merged(session, member)  # its points are the survivor's now: adjust those
    if member.status == "erased":
        raise MemberInactive(f"Member {member_id} is erased.")
    posting = ledger.Posting(now=now, actor=actor, rules_version=rules.version, reason=reason)
    if points > 0:
        credit = ledger.Credit(points=points, rule_id=None, available_at=now,
                               expires_at=rules.program.expires_at(now))
        [entry] = ledger.credit(session, member, [credit], posting, entry_type="adjust").entries
    else:
        entry = ledger.debit(session, member, -points, "adjust", posting, allow_negative=True)
    member.last_activity_at = now
    outbox.emit(session, "points.adjusted", member.id, {
        "member_id": member.id, "transaction_id": entry["id"], "points": points, "reason": reason,
        "balance": member.balance,
    }, now)
    audit.record(session, actor, "adjustment", member.id, now, reason,
                 {"points": points, "transaction_id": entry["id"], "balance_after": member.balance})
    return entry, member
