"""Importing events from a file (CSV or JSON Lines), a batch at a time, idempotent by source_id.

Each chunk of rows is one batch (``event_batch.record_batch``) in one
transaction. An event whose source_id is already recorded is skipped, so a
rerun after a kill picks up where the last committed chunk ended.
"""

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from sqlalchemy.orm import Session

from loyalty.db.transactions import write_transaction
from loyalty.errors import IdempotencyConflict, LoyaltyError, ValidationFailed
from loyalty.services import expiry, tier_review
from loyalty.services.event_batch import BatchItem, BatchResult, record_batch
from loyalty.services.rules import active_rules, rules_active_at

#: CSV cells holding JSON (the rest are text, and ``amount`` a whole number).
JSON_COLUMNS = ("items", "attributes")


@dataclass
class ImportReport:
    recorded: int = 0
    points: int = 0
    skipped: int = 0  # source_id already recorded
    rejected: list[tuple[int, LoyaltyError]] = field(default_factory=list)  # (line, why)


def rows(lines: IO[str], fmt: str) -> Iterator[tuple[int, object]]:
    """``(line number, event body)`` for each row of a ``csv`` or ``jsonl`` file; a body that
    cannot be read is a ``ValidationFailed`` in its place."""
    if fmt == "jsonl":
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except ValueError as error:
                    yield number, ValidationFailed({"_schema": [f"not a JSON object: {error}"]})
        return
    reader = csv.DictReader(lines)
    for row in reader:
        yield reader.line_num, _csv_body(row)


def _csv_body(row: dict) -> object:
    body = {}
    for name, value in row.items():
        if name is None or value is None or value == "":
            continue
        if name in JSON_COLUMNS:
            try:
                value = json.loads(value)
            except ValueError:
                return ValidationFailed({name: ["must be JSON, e.g. [{\"sku\": \"latte\", \"quantity\": 1, "
                                                "\"unit_amount\": 450}]"]})
        elif name in ("amount", "points") and value.lstrip("-").isdigit():
            value = int(value)
        body[name] = value
    return body


def import_events(session: Session, bodies: Iterable[tuple[int, object]], parse: Callable[[object], BatchItem],
                  actor: str, now: datetime, *, historical: bool = False, batch_size: int = 500,
                  progress: Callable[[int], None] = lambda rows: None) -> ImportReport:
    """Record the events ``bodies`` (from ``rows``), ``parse`` turning one into a ``BatchItem``."""
    report, chunk = ImportReport(), []
    for number, body in bodies:
        chunk.append((number, body))
        if len(chunk) == batch_size:
            _import_chunk(session, chunk, parse, actor, now, historical, report)
            progress(len(chunk))
            chunk = []
    if chunk:
        _import_chunk(session, chunk, parse, actor, now, historical, report)
        progress(len(chunk))
    return report


def _import_chunk(session: Session, chunk: list[tuple[int, object]], parse, actor: str, now: datetime,
                  historical: bool, report: ImportReport) -> None:
    items = [BatchItem(index, error=body) if isinstance(body, LoyaltyError) else parse(index, body)
             for index, (_, body) in enumerate(chunk)]
    with write_transaction(session):
        rules = active_rules(session)
        results = record_batch(session, rules, items, actor, now,
                               history=rules_active_at(session) if historical else None)
        if historical:
            _catch_up(session, rules, results, now)
    for (number, _), result in zip(chunk, results, strict=True):
        if result.error is None:
            report.recorded += 1
            report.points += sum(a.points for a in result.outcome.evaluation.awards)
        elif isinstance(result.error, IdempotencyConflict):
            report.skipped += 1
        else:
            report.rejected.append((number, result.error))


def _catch_up(session: Session, rules, results: list[BatchResult], now: datetime) -> None:
    """History ends today: tier holds that ended since are reviewed, and lots already due expire."""
    members = {r.outcome.member.id: r.outcome.member for r in results if r.outcome is not None}
    for member in members.values():
        tier_review.review_member(session, rules.program, member, now)
    if members:
        session.flush()
        expiry.expire_due_lots(session, sorted(members), now, rules.version, reason="imported history")
