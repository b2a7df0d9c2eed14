"""Enrolling members in bulk from another program's CSV, with opening balances and tiers.

Rows are checked first, then enrolled a batch per transaction. A member is
known by ``external_id``: rows whose external_id is already enrolled are
skipped, so importing a file twice enrols nobody twice. Imported members get
no welcome or sign-up points (they bring their balance); the opening balance
is an ``adjust`` entry with reason "opening balance" whose lot expires as the
program says, and a tier above the base is held for the program's tier hold
(then reviewed like any other).
"""

import secrets
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.db.transactions import write_transaction
from loyalty.ids import REFERRAL_ALPHABET, new_id
from loyalty.models import Member, TierChange
from loyalty.models.member import search_text
from loyalty.observability import metrics
from loyalty.services.member_csv import ImportReport, ImportRow, read_rows
from loyalty.services.rules import ActiveRules
from loyalty.services.tiers import give_tier_badges

OPENING_BALANCE = "opening balance"


def enroll_batch(session: Session, rules: ActiveRules, rows: list[ImportRow], actor: str | None,
                 now: datetime, report: ImportReport) -> None:
    """Enrol the rows whose external_id is new, in the caller's write transaction.

    Written a statement per table for the whole batch (members, opening
    balances through ``ledger.open_balances``, tier changes): an ORM flush per
    member would make 100,000 rows take minutes.
    """
    program = rules.program
    taken = set(session.scalars(select(Member.external_id).where(
        Member.external_id.in_([r.external_id for r in rows]))))
    fresh = [r for r in rows if r.external_id not in taken]
    report.skipped += len(rows) - len(fresh)
    if not fresh:
        return
    base = program.base_tier.id
    members = [{
        "id": new_id("mem"), "external_id": row.external_id, "email": row.email, "phone": row.phone,
        "first_name": row.first_name, "last_name": row.last_name, "birthday": row.birthday,
        "email_opt_in": row.email_opt_in, "referral_code": code, "referred_by_id": None, "channel": "import",
        "stripe_customer_id": row.stripe_customer_id, "status": "active", "enrolled_at": row.enrolled_at or now,
        "balance": 0, "pending": 0, "lifetime_earned": 0, "lifetime_redeemed": 0,
        "tier_id": row.tier or base, "tier_since": now,
        "tier_expires_at": None if (row.tier or base) == base else now + program.tier_hold,
        "purchase_count": 0, "referrals_earned": 0, "lifecycle_stage": "enrolled", "last_activity_at": now,
        "search_text": search_text(row.first_name, row.last_name, row.email, row.external_id, row.phone),
    } for row, code in zip(fresh, _referral_codes(session, len(fresh)), strict=True)]
    session.connection().execute(Member.__table__.insert(), members)
    opening = [(m["id"], row.opening_balance) for m, row in zip(members, fresh, strict=True) if row.opening_balance]
    ledger.open_balances(session, opening,
                         ledger.Posting(now=now, actor=actor, rules_version=rules.version, reason=OPENING_BALANCE),
                         program.expires_at(now))
    report.opening_points += sum(points for _, points in opening)
    report.opening_entries.extend(points for _, points in opening)
    tiered = [{"member_id": m["id"], "from_tier": None, "to_tier": m["tier_id"], "reason": "import",
               "event_id": None, "changed_at": now} for m in members if m["tier_id"] != base]
    if tiered:
        session.connection().execute(TierChange.__table__.insert(), tiered)
        for change in tiered:
            give_tier_badges(session, program, change["member_id"], base, change["to_tier"], now)
    endpoints = outbox.subscribed_endpoints(session)
    if endpoints:
        for values, row in zip(members, fresh, strict=True):
            member = Member(**{**values, "balance": row.opening_balance, "lifetime_earned": row.opening_balance})
            outbox.emit(session, "member.enrolled", member.id,
                        {"member": outbox.member_data(member), "opening_balance": row.opening_balance},
                        now, endpoints=endpoints)
    report.enrolled += len(fresh)


def _referral_codes(session: Session, count: int) -> list[str]:
    """``count`` unused referral codes (as ``ids.new_referral_code`` makes them, many at a time)."""
    codes: set[str] = set()
    while len(codes) < count:
        wanted = _new_codes(count - len(codes)) - codes
        taken = set(session.scalars(select(Member.referral_code).where(Member.referral_code.in_(wanted))))
        codes |= wanted - taken
    return list(codes)[:count]


def _new_codes(count: int, length: int = 8) -> set[str]:
    alphabet = REFERRAL_ALPHABET  # 32 letters: a random byte % 32 is uniform
    raw = secrets.token_bytes(count * length)
    return {"".join(alphabet[b % 32] for b in raw[i:i + length]) for i in range(0, len(raw), length)}


def import_members(session: Session, rules: ActiveRules, lines: Iterable[str], actor: str | None,
                   now: datetime, *, all_or_nothing: bool = False, batch_size: int = 1000) -> ImportReport:
    """Import CSV ``lines``: a transaction per batch, or one for the whole file with ``all_or_nothing``.

    With ``all_or_nothing`` a single bad row means nothing is imported
    (``report.applied`` is False); otherwise bad rows are reported and skipped.
    """
    report = ImportReport()
    rows = list(read_rows(lines, rules, now, report))
    if all_or_nothing:
        if report.errors:
            report.applied = False
            return report
        with write_transaction(session):
            for batch in _batches(rows, batch_size):
                enroll_batch(session, rules, batch, actor, now, report)
        metrics.count_entries([("adjust", points) for points in report.opening_entries])
        return report
    for batch in _batches(rows, batch_size):
        _enroll_with_retry(session, rules, batch, actor, now, report)
    return report


def _batches(rows: list[ImportRow], size: int) -> Iterator[list[ImportRow]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _enroll_with_retry(session: Session, rules: ActiveRules, batch: list[ImportRow], actor: str | None,
                       now: datetime, report: ImportReport, attempts: int = 3) -> None:
    """An enrolment through the API racing the batch makes it fail whole; the retry skips that member."""
    for attempt in range(attempts):
        partial = ImportReport()
        try:
            with write_transaction(session):
                enroll_batch(session, rules, batch, actor, now, partial)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            continue
        report.enrolled += partial.enrolled
        report.skipped += partial.skipped
        report.opening_points += partial.opening_points
        metrics.count_entries([("adjust", points) for points in partial.opening_entries])
        return
