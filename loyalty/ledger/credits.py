"""Credits: points in, as an entry and a lot each (a pending credit is a lot only until released).

Lots never hold more than a member can spend: a credit that arrives while
the balance is negative first pays off the debt, so ``Σ lot.remaining ==
max(balance, 0)`` holds.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from loyalty.db import held_rows
from loyalty.ledger.entries import INSERT_ENTRIES, Posting, entry_fields, entry_row, write_entries
from loyalty.models import Lot, Member

INSERT_LOTS = Lot.__table__.insert()


@dataclass(frozen=True)
class Credit:
    points: int
    rule_id: str | None
    available_at: datetime
    expires_at: datetime | None
    pending: bool = False
    spend_based: bool = False


@dataclass(frozen=True)
class Credited:
    """What ``credit`` wrote: the entries (None for a pending credit, which has none yet) and the lots."""

    entries: list[dict | None]
    lots: list[dict]


def credit(session: Session, member: Member, credits: list[Credit], posting: Posting,
           entry_type: str = "earn") -> Credited:
    """Post credits: an entry and a lot each; pending ones only a lot, counted in ``member.pending``."""
    entries, lots = [], []
    for item in credits:
        entry = None
        if item.pending:
            member.pending += item.points
            remaining = item.points
        else:
            entry = entry_row(member, entry_type, item.points, posting, rule_id=item.rule_id,
                              expires_at=item.expires_at)
            remaining = min(item.points, max(0, entry["balance_after"]))
        lots.append(_lot(member.id, posting, item, remaining))
        entries.append(entry)
    write_entries(session, [entry for entry in entries if entry is not None])
    if lots:
        held_rows.insert(session, INSERT_LOTS, lots)
    return Credited(entries, lots)


def _lot(member_id: str, posting: Posting, item: Credit, remaining: int) -> dict:
    return {
        "member_id": member_id, "event_id": posting.event_id, "rule_id": item.rule_id,
        "points": item.points, "remaining": remaining, "status": "pending" if item.pending else "active",
        "spend_based": item.spend_based, "available_at": item.available_at, "expires_at": item.expires_at,
        "created_at": posting.now,
    }


def lot_copy(lot: Lot, member_id: str, points: int, remaining: int, now: datetime, status: str = "active") -> dict:
    """A new lot for ``member_id`` like ``lot``: same event, rule, availability and expiry."""
    return {"member_id": member_id, "event_id": lot.event_id, "rule_id": lot.rule_id, "points": points,
            "remaining": remaining, "status": status, "spend_based": lot.spend_based,
            "available_at": lot.available_at, "expires_at": lot.expires_at, "created_at": now}


def open_balances(session: Session, balances: list[tuple[str, int]], posting: Posting,
                  expires_at: datetime | None) -> None:
    """Opening balances for members inserted (with zero points) in this transaction: bulk imports.

    The same ``adjust`` entries and lots ``credit`` would post, one statement
    per table for the whole batch instead of one flush per member.
    """
    if not balances:
        return
    entries = [entry_fields(member_id, "adjust", points, points, posting, expires_at=expires_at)
               for member_id, points in balances]
    connection = session.connection()
    connection.execute(INSERT_ENTRIES, entries)
    connection.execute(INSERT_LOTS, [
        _lot(member_id, posting, Credit(points, None, posting.now, expires_at), points)
        for member_id, points in balances])
    members = Member.__table__
    connection.execute(
        members.update().where(members.c.id == bindparam("member"))
        .values(balance=members.c.balance + bindparam("points"),
                lifetime_earned=members.c.lifetime_earned + bindparam("points")),
        [{"member": member_id, "points": points} for member_id, points in balances],
    )

