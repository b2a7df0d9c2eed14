"""Command line: ``flask --app app members import|export`` and ``ledger export``."""

import csv
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from loyalty import clock
from loyalty.commands.cli import ledger
from loyalty.db.replica import read_behind
from loyalty.extensions import db
from loyalty.models import LedgerEntry, Member
from loyalty.services import member_csv, member_import
from loyalty.services.rules import active_rules

members = AppGroup("members", help="Members in bulk: import from another program, export.")

MEMBER_COLUMNS = ("id", "external_id", "email", "phone", "first_name", "last_name", "birthday", "email_opt_in",
                  "stripe_customer_id", "status", "channel", "enrolled_at", "referral_code", "tier",
                  "tier_expires_at", "balance", "pending", "lifetime_earned", "lifetime_redeemed",
                  "lifecycle_stage")
ENTRY_COLUMNS = ("seq", "id", "member_id", "type", "points", "balance_after", "rule_id", "event_id",
                 "redemption_id", "reason", "actor", "rules_version", "created_at", "expires_at")
#: Free text a person typed; a leading = + - @ would make a spreadsheet run it as a formula.
FREE_TEXT = {"email", "phone", "first_name", "last_name", "reason"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@members.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--all-or-nothing", is_flag=True, help="Import nothing if any row is bad.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Members per transaction.")
@click.option("--by", "actor", default="import", show_default=True, help="Actor recorded on opening balances.")
def members_import(path, all_or_nothing, batch_size, actor):
    """Enrol the members in PATH (CSV with a header line), idempotent by external_id.

    Columns: external_id (required), email, phone, first_name, last_name,
    birthday (YYYY-MM-DD), email_opt_in (true/false), opening_balance (points),
    tier (a tier id), stripe_customer_id, enrolled_at (RFC 3339 or date).
    Bad rows are listed by line number on standard error and the rest is
    imported (exit status 1 tells a script some rows were not).
    """
    started = time.perf_counter()
    now = clock.now()
    rules = active_rules(db.session())
    with path.open(encoding="utf-8-sig", newline="") as lines:
        try:
            report = member_import.import_members(db.session(), rules, lines, actor, now,
                                                  all_or_nothing=all_or_nothing, batch_size=batch_size)
        except member_csv.HeaderInvalid as problem:
            raise click.ClickException(f"{path}: {problem}") from None
    for error in report.errors:
        click.echo(f"{path}:{error}", err=True)
    if report.ignored_columns:
        click.echo(f"Ignored column(s): {', '.join(report.ignored_columns)}", err=True)
    seconds = time.perf_counter() - started
    if not report.applied:
        raise click.ClickException(f"{len(report.errors)} bad row(s); nothing was imported (--all-or-nothing).")
    click.echo(f"Enrolled {report.enrolled:,} members with {report.opening_points:,} opening points; "
               f"{report.skipped:,} already enrolled; {len(report.errors):,} bad rows; {seconds:.1f} s.")
    if report.errors:
        raise SystemExit(1)


@members.command("export")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
def members_export(path):
    """Write every member (erased ones with blank personal fields) to PATH as CSV; '-' for stdout."""
    click.echo(f"Wrote {read_behind(lambda session: _write_members(session, path)):,} members.", err=True)


def _write_members(session, path: str) -> int:
    query = select(Member).order_by(Member.enrolled_at, Member.id).execution_options(yield_per=1000)
    with _csv_out(path) as out:
        out.writerow(MEMBER_COLUMNS)
        count = 0
        for member in session.scalars(query):
            values = {column: getattr(member, column, None) for column in MEMBER_COLUMNS}
            values["tier"] = member.tier_id
            out.writerow([_cell(column, values[column]) for column in MEMBER_COLUMNS])
            count += 1
    return count


@ledger.command("export")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--from", "since", metavar="RFC3339", help="Only entries created at or after this moment.")
@click.option("--to", "until", metavar="RFC3339", help="Only entries created before this moment.")
def ledger_export(path, since, until):
    """Write ledger entries, oldest first, to PATH as CSV ('-' for stdout): for accounting."""
    query = select(LedgerEntry).order_by(LedgerEntry.seq)
    if since:
        query = query.where(LedgerEntry.created_at >= _moment(since, "--from"))
    if until:
        query = query.where(LedgerEntry.created_at < _moment(until, "--to"))
    click.echo(f"Wrote {read_behind(lambda session: _write_entries(session, query, path)):,} ledger entries.",
               err=True)


def _write_entries(session, query, path: str) -> int:
    with _csv_out(path) as out:
        out.writerow(ENTRY_COLUMNS)
        count = 0
        for entry in session.scalars(query.execution_options(yield_per=5000)):
            out.writerow([_cell(column, getattr(entry, column)) for column in ENTRY_COLUMNS])
            count += 1
    return count


@contextmanager
def _csv_out(path: str):
    if path == "-":
        yield csv.writer(sys.stdout)
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        yield csv.writer(handle)


def _cell(column: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return clock.to_rfc3339(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if column in FREE_TEXT and text.startswith(FORMULA_START):
        return "'" + text
    return text


def _moment(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not RFC 3339, e.g. 2026-01-01T00:00:00Z", param_hint=option) from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a timezone, e.g. 2026-01-01T00:00:00Z", param_hint=option)
    return moment
