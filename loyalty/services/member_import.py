"""Enrolling members in bulk from another program's CSV, with opening balances and tiers.

Rows are checked first, then enrolled a batch per transaction. A member is
known by ``external_id``: rows whose external_id is already enrolled are
skipped, so importing a file twice enrols nobody twice. Imported members get
no welcome or sign-up points (they bring their balance); the opening balance
is an ``adjust`` entry with reason "opening balance" whose lot expires as the
program says, and a tier above the base is held for the program's tier hold
(then reviewed like any other).
"""

import csv
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from marshmallow import ValidationError, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loyalty import ledger, outbox
from loyalty.db.transactions import write_transaction
from loyalty.ids import REFERRAL_ALPHABET, new_id
from loyalty.models import Member, TierChange
from loyalty.observability import metrics
from loyalty.services.members import normalize_email
from loyalty.services.rules import ActiveRules

COLUMNS = ("external_id", "email", "phone", "first_name", "last_name", "birthday", "email_opt_in",
           "opening_balance", "tier", "stripe_customer_id", "enrolled_at")
TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f", ""}
MAX_OPENING_BALANCE = 10**9
OPENING_BALANCE = "opening balance"
_email = validate.Email()


@dataclass(frozen=True)
class ImportRow:
    line: int
    external_id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    birthday: date | None = None
    email_opt_in: bool = False
    opening_balance: int = 0
    tier: str | None = None
    stripe_customer_id: str | None = None
    enrolled_at: datetime | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ImportReport:
    enrolled: int = 0
    skipped: int = 0  # already enrolled
    opening_points: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = True
    opening_entries: list[int] = field(default_factory=list)  # committed ones are counted in the metrics


class HeaderInvalid(Exception):
    """The file cannot be read as a members CSV at all."""


def read_rows(lines: Iterable[str], rules: ActiveRules, now: datetime, report: ImportReport) -> Iterator[ImportRow]:
    """Parse and check each row; a bad row is reported (with its line number) and the rest go on."""
    reader = csv.DictReader(lines)
    header = [name.strip() for name in (reader.fieldnames or [])]
    if "external_id" not in header:
        raise HeaderInvalid("the first line must name the columns, including external_id")
    reader.fieldnames = header
    report.ignored_columns = [name for name in header if name and name not in COLUMNS]
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if None in raw:
            report.errors.append(RowError(line, f"{len(raw[None])} more value(s) than columns"))
            continue
        try:
            row = _parse(line, raw, rules, now)
        except ValueError as problem:
            report.errors.append(RowError(line, str(problem)))
            continue
        if row.external_id in seen:
            report.errors.append(RowError(
                line, f"external_id {row.external_id!r} already appears on line {seen[row.external_id]}"))
            continue
        seen[row.external_id] = line
        yield row


def _parse(line: int, raw: dict, rules: ActiveRules, now: datetime) -> ImportRow:
    value = {k: (v or "").strip() for k, v in raw.items() if k in COLUMNS}
    problems = []

    def check(name, parse):
        try:
            return parse(value.get(name, ""))
        except (ValueError, ValidationError) as error:
            message = error.messages[0] if isinstance(error, ValidationError) else str(error)
            problems.append(f"{name}: {message}")
            return None

    row = {
        "external_id": check("external_id", lambda v: _text(v, 255, required=True)),
        "email": check("email", lambda v: normalize_email(_email(v)) if v else None),
        "phone": check("phone", lambda v: _text(v, 32, minimum=3)),
        "first_name": check("first_name", lambda v: _text(v, 100)),
        "last_name": check("last_name", lambda v: _text(v, 100)),
        "birthday": check("birthday", lambda v: _date(v) if v else None),
        "email_opt_in": check("email_opt_in", _boolean),
        "opening_balance": check("opening_balance", _points),
        "tier": check("tier", lambda v: _tier(v, rules)),
        "stripe_customer_id": check("stripe_customer_id", lambda v: _text(v, 255)),
        "enrolled_at": check("enrolled_at", lambda v: _moment(v, now) if v else None),
    }
    if problems:
        raise ValueError("; ".join(problems))
    return ImportRow(line=line, **{k: v for k, v in row.items() if v is not None or k == "external_id"})


def _text(v: str, maximum: int, minimum: int = 1, required: bool = False) -> str | None:
    if not v:
        if required:
            raise ValueError("required")
        return None
    if not minimum <= len(v) <= maximum:
        raise ValueError(f"must be {minimum}–{maximum} characters")
    return v


def _date(v: str) -> date:
    try:
        return date.fromisoformat(v)
    except ValueError:
        raise ValueError(f"{v!r} is not a date YYYY-MM-DD") from None


def _boolean(v: str) -> bool:
    if v.lower() in TRUE:
        return True
    if v.lower() in FALSE:
        return False
    raise ValueError(f"{v!r} is not true or false")


def _points(v: str) -> int:
    if not v:
        return 0
    try:
        points = int(v)
    except ValueError:
        raise ValueError(f"{v!r} is not a whole number of points") from None
    if not 0 <= points <= MAX_OPENING_BALANCE:
        raise ValueError(f"must be 0–{MAX_OPENING_BALANCE:,}")
    return points


def _tier(v: str, rules: ActiveRules) -> str | None:
    if not v:
        return None
    known = [t.id for t in rules.program.tiers]
    if v not in known:
        raise ValueError(f"unknown tier {v!r}; the program has {', '.join(known)}")
    return v


def _moment(v: str, now: datetime) -> datetime:
    text = v[:-1] + "+00:00" if v.endswith(("Z", "z")) else v
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{v!r} is not RFC 3339 (2024-05-01T12:00:00Z) or a date") from None
    if moment.tzinfo is None:
        if "T" in text:
            raise ValueError("needs a timezone, e.g. 2024-05-01T12:00:00Z")
        moment = moment.replace(tzinfo=now.tzinfo)
    if moment > now:
        raise ValueError("may not be in the future")
    return moment.astimezone(now.tzinfo)


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
