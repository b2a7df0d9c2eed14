"""Command line: ``flask --app app events import FILE``."""

import json
import sys
import time
from pathlib import Path

import click
import marshmallow as ma
from flask.cli import AppGroup

from loyalty import clock
from loyalty.api.events import EVENT_IN
from loyalty.errors import ValidationFailed
from loyalty.extensions import db
from loyalty.services import event_import
from loyalty.services.event_batch import MAX_EVENTS, BatchItem

events = AppGroup("events", help="Events in bulk: import from a file or another program.")


def _parse(index: int, body) -> BatchItem:
    """The API's own parsing of a POST /v1/events body, and the previous program's ``points`` if given."""
    points = body.pop("points", None) if isinstance(body, dict) else None
    try:
        data = EVENT_IN.load(body)
    except ma.ValidationError as error:
        fields = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        return BatchItem(index, error=ValidationFailed(fields))
    if points is not None and (type(points) is not int or points < 0):
        return BatchItem(index, error=ValidationFailed({"points": ["must be a whole number of points, 0 or more"]}))
    return BatchItem(index, data=data, points=points)


@events.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]),
              help="csv or jsonl (JSON Lines); by default from the file's extension.")
@click.option("--historical", is_flag=True,
              help="Events older than 90 days too: each earns by the rules active at its time, as if lived.")
@click.option("--batch-size", type=click.IntRange(1, MAX_EVENTS), default=500, show_default=True,
              help="Events per transaction.")
@click.option("--by", "actor", default="import", show_default=True, help="Actor recorded on the events.")
def events_import(path, fmt, historical, batch_size, actor):
    """Record the events in PATH, idempotent by source_id: a rerun (after a kill too) skips what is recorded.

    Fields as the body of POST /v1/events; source_id is required. In a CSV
    (header line first) items and attributes are JSON cells. A points
    field takes the previous program's figure as it is (an adjust credit,
    no rule applied). Rejected rows are listed by line number on standard
    error (exit status 1).
    """
    fmt = fmt or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    started, now = time.perf_counter(), clock.now()
    with path.open(encoding="utf-8-sig", newline="") as lines:
        total = sum(1 for _ in lines) - (1 if fmt == "csv" else 0)
        lines.seek(0)
        with click.progressbar(length=max(total, 0), label="Importing events", file=sys.stderr) as bar:
            report = event_import.import_events(
                db.session(), event_import.rows(lines, fmt), _parse, actor, now, historical=historical,
                batch_size=batch_size, progress=bar.update)
    for line, error in report.rejected:
        details = f" {json.dumps(error.details)}" if error.details else ""
        click.echo(f"{path}:{line}: {error.code}: {error.message}{details}", err=True)
    click.echo(f"Recorded {report.recorded:,} events earning {report.points:,} points; "
               f"{report.skipped:,} already recorded; {len(report.rejected):,} rejected; "
               f"{time.perf_counter() - started:.1f} s.")
    if report.rejected:
        raise SystemExit(1)
