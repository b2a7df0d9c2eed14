"""Reading another program's CSV of members: every row checked, errors reported by line."""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from marshmallow import ValidationError, validate

from loyalty.services.members import normalize_email
from loyalty.services.rules import ActiveRules

COLUMNS = ("external_id", "email", "phone", "first_name", "last_name", "birthday", "email_opt_in",
           "opening_balance", "tier", "stripe_customer_id", "enrolled_at")
TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f", ""}
MAX_OPENING_BALANCE = 10**9
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
