"""Entries: one immutable row per change of points, and the member's cached totals moved with it.

Callers hold the member's lock (``db.transactions.lock_members``) inside a
write transaction. Entries are written with Core: insert-only rows gain
nothing from the unit of work. The member's totals move on its ORM object
and are written by the transaction's flush.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from loyalty.db import held_rows
from loyalty.ids import new_id
from loyalty.models import LedgerEntry, Member

INSERT_ENTRIES = LedgerEntry.__table__.insert()
INSERT_ENTRY = INSERT_ENTRIES.returning(LedgerEntry.__table__.c.seq)
#: ``session.info`` key: (type, points) of each entry this transaction wrote, for metrics at commit.
WRITTEN_ENTRIES = "loyalty.ledger_entries"
#: Entry types that count in a member's lifetime earned (``adjust`` only when positive).
EARNING = ("earn", "reverse")
REDEEMING = ("redeem", "void")


@dataclass(frozen=True)
class Posting:
    """Who did it and why, copied onto every entry of one change."""

    now: datetime
    actor: str | None = None
    rules_version: int | None = None
    event_id: str | None = None
    reason: str | None = None


def entry_row(member: Member, entry_type: str, points: int, posting: Posting, *,
              rule_id=None, redemption_id=None, expires_at=None) -> dict:
    """One entry's row, with the member's cached totals moved by it (to be written by the caller)."""
    member.balance += points
    if entry_type in EARNING or (entry_type == "adjust" and points > 0):
        member.lifetime_earned += points
    elif entry_type in REDEEMING:
        member.lifetime_redeemed -= points
    return entry_fields(member.id, entry_type, points, member.balance, posting, rule_id=rule_id,
                        redemption_id=redemption_id, expires_at=expires_at)


def entry_fields(member_id: str, entry_type: str, points: int, balance_after: int, posting: Posting, *,
                 rule_id=None, redemption_id=None, expires_at=None) -> dict:
    """An entry's row as written, for a balance the caller has already moved."""
    return {
        "id": new_id("txn"), "member_id": member_id, "type": entry_type, "points": points,
        "balance_after": balance_after, "rule_id": rule_id, "event_id": posting.event_id,
        "redemption_id": redemption_id, "reason": posting.reason, "actor": posting.actor,
        "rules_version": posting.rules_version, "created_at": posting.now, "expires_at": expires_at,
    }


def write_entries(session: Session, entries: list[dict]) -> None:
    """Insert entries built by ``entry_row``, one statement for all."""
    if entries:
        held_rows.insert(session, INSERT_ENTRIES, entries)
        record_written(session, entries)


def post(session: Session, member: Member, entry_type: str, points: int, posting: Posting, **fields) -> dict:
    """Write one entry and move the member's totals with it; returns the row with its ``seq``."""
    entry = entry_row(member, entry_type, points, posting, **fields)
    entry["seq"] = session.execute(INSERT_ENTRY, entry).scalar_one()
    record_written(session, [entry])
    return entry


def record_written(session: Session, entries: list[dict]) -> None:
    session.info.setdefault(WRITTEN_ENTRIES, []).extend((e["type"], e["points"]) for e in entries)
