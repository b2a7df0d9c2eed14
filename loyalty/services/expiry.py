"""Point expiry: what is left of each lot past its ``expires_at`` leaves with an ``expire`` entry.

The work is set-based: for a batch of locked members, one SQL statement
(three on SQLite) posts one ``expire`` entry per due lot (its remainder,
the member's running balance after it, and the lot's rule, event and
expiry, which name the lot), zeroes the lots and lowers the cached
balances. No lot is loaded into Python. The statements keep the ledger's
invariants (``loyalty/ledger.py``): balance = Σ entries and Σ active lot
remainders = max(balance, 0), because a lot only holds points the balance
covers, so taking its remainder out of both keeps them equal.

A lot is due when ``expires_at <= now``: at its exact instant, never a
second early. Partly spent lots lose only their remainder; points a void put
back into an expired lot leave at the next run, so they keep their original date.

Inactivity (``expiry: {inactive_after: …}``) brings every lot of a member who
has neither earned nor spent for that long forward to the instant the
inactivity began to count as expiry, then expires them the same way.
"""

import json
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import (
    Integer,
    String,
    and_,
    any_,
    column,
    func,
    insert,
    literal,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from loyalty import outbox
from loyalty.engine.expiry import Duration
from loyalty.ids import new_ids
from loyalty.models import LedgerEntry, Lot, Member
from loyalty.models.jobs import LOT_HOLDS_POINTS
from loyalty.models.types import UTCDateTime
from loyalty.services.rules import active_rules
from loyalty.services.sweep import SweepResult, keyset_after, sweep

ACTOR = "jobs"
COMMITTED_ENTRIES = "loyalty.ledger_entries"
BATCH_SIZE = 2000


def expire_points(session: Session, now: datetime, *, batch_size: int = BATCH_SIZE,
                  max_batches: int | None = None) -> SweepResult:
    """Expire every lot due at `now`; counts lots expired.

    A batch (one transaction) takes the members of the next `batch_size` due
    lots, in expiry order, and expires all their due lots: a member's balance
    is updated once per batch however many of their lots fall due.
    """
    version = active_rules(session).version

    def window(session: Session, cursor, limit: int):
        rows = session.execute(
            select(Lot.member_id, Lot.expires_at, Lot.id)
            .where(LOT_HOLDS_POINTS, Lot.expires_at <= now,
                   keyset_after(cursor, Lot.expires_at, Lot.id))
            .order_by(Lot.expires_at, Lot.id).limit(limit)
        ).all()
        if not rows:
            return [], cursor
        return sorted({row.member_id for row in rows}), (rows[-1].expires_at, rows[-1].id)

    def process(session: Session, member_ids: list[str]) -> int:
        return expire_due_lots(session, member_ids, now, version)

    return sweep(session, window, process, batch_size=batch_size, max_batches=max_batches)


def expire_due_lots(session: Session, member_ids: list[str], now: datetime, rules_version: int,
                    reason: str | None = None) -> int:
    """Expire the due lots of members the caller has locked; returns how many lots expired.

    Also fit for one member on a write path (a redemption or an event) that
    wants due points gone before it looks at the balance.
    """
    with unprepared(session):
        due_filter = and_(among(session, Lot.member_id, member_ids), LOT_HOLDS_POINTS, Lot.expires_at <= now)
        count, points = session.execute(
            select(func.count(), func.coalesce(func.sum(Lot.remaining), 0)).where(due_filter)).one()
        if not count:
            return 0
        # The points metrics count entries when their transaction commits (loyalty.observability).
        session.info.setdefault(COMMITTED_ENTRIES, []).append(("expire", -int(points)))
        due = _due(session, member_ids, due_filter)
        _emit_expired(session, due, now)
        entries = insert(LedgerEntry).from_select(
            ["id", "member_id", "type", "points", "balance_after", "rule_id", "event_id", "reason", "actor",
             "rules_version", "created_at", "expires_at"],
            _expire_entries(session, due, count, now, rules_version, reason))
        totals = (select(Lot.member_id, func.sum(Lot.remaining).label("points"))
                  .where(due_filter).group_by(Lot.member_id).cte("totals"))
        balances = (update(Member).where(Member.id == totals.c.member_id, among(session, Member.id, member_ids))
                    .values(balance=Member.balance - totals.c.points))
        zeroed = update(Lot).where(due_filter).values(remaining=0)
        if session.get_bind().dialect.name == "postgresql":
            # One round trip. Every part reads the snapshot before any of them writes: the entries'
            # running balances start from the balances before, and the lots zeroed are the ones posted.
            statements = [entries.add_cte(balances.cte("balances"), zeroed.cte("zeroed"))]
        else:
            statements = [entries, balances, zeroed]  # SQLite has no INSERT or UPDATE in a WITH
        for statement in statements:
            session.connection().execute(statement)
    return count


def _due(session: Session, member_ids: list[str], due_filter):
    """The due lots, each numbered (n) and with the member's balance after it expires."""
    order = (Lot.member_id, Lot.expires_at, Lot.id)
    running = func.sum(Lot.remaining).over(partition_by=Lot.member_id, order_by=order[1:])
    return (
        select(Lot.member_id, Lot.remaining, Lot.expires_at, Lot.rule_id, Lot.event_id,
               func.row_number().over(order_by=order).label("n"),
               (Member.balance - running).label("balance_after"))
        .join(Member, Member.id == Lot.member_id)
        .where(due_filter, among(session, Member.id, member_ids))
        .cte("due"))


def _expire_entries(session: Session, due, count: int, now: datetime, rules_version: int, reason: str | None):
    """One ``expire`` entry per due lot, in the member's order of expiry."""
    entry_ids = numbered_ids(session, new_ids("txn", count))
    return (
        select(entry_ids.c.txn_id, due.c.member_id, literal("expire"), -due.c.remaining, due.c.balance_after,
               due.c.rule_id, due.c.event_id, literal(reason, String), literal(ACTOR),
               literal(rules_version, Integer), literal(now, UTCDateTime), due.c.expires_at)
        .select_from(due.join(entry_ids, entry_ids.c.n == due.c.n))
        .order_by(due.c.n))


@contextmanager
def unprepared(session: Session):
    """On PostgreSQL, plan each batch's statements for the arrays they carry, and compile none (JIT).

    psycopg prepares a statement it has run 5 times, and PostgreSQL may then
    keep one generic plan for it, which guesses 10 elements an array and
    joins the batch in quadratic time. ``plan_cache_mode =
    force_custom_plan`` avoids that but also replans the foreign-key check
    of every entry inserted, which doubles the insert's cost; so for the
    batch psycopg prepares nothing, and each statement is planned once, for
    its own arrays. A batch's statements run longer than JIT takes to compile them.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    session.execute(text("SET LOCAL jit = off"))
    driver = session.connection().connection.driver_connection
    threshold, driver.prepare_threshold = driver.prepare_threshold, None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


def among(session: Session, column, values: list[str]):
    """`column` IN `values`, as one bound parameter whatever their number."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(String)))
    return column.in_(select(func.json_each(json.dumps(values)).table_valued("value").c.value))


def numbered_ids(session: Session, ids: list[str]):
    """`ids` as a table (n, txn_id), n counting from 1.

    PostgreSQL unnests one array parameter (as a CTE, read once). SQLite's
    json_each cannot be joined on position without a scan per row, so there
    the ids go into a temporary table keyed by n (per connection, emptied
    each time).
    """
    if session.get_bind().dialect.name == "postgresql":
        unnested = func.unnest(literal(ids, ARRAY(String))).table_valued("txn_id", with_ordinality="n")
        unnested = unnested.render_derived()
        return select(unnested.c.txn_id, unnested.c.n).cte("new_ids")
    session.execute(text("CREATE TEMP TABLE IF NOT EXISTS new_entry_ids (n INTEGER PRIMARY KEY, txn_id TEXT NOT NULL)"))
    session.execute(text("DELETE FROM new_entry_ids"))
    session.execute(text("INSERT INTO new_entry_ids (n, txn_id) VALUES (:n, :txn_id)"),
                    [{"n": n, "txn_id": txn_id} for n, txn_id in enumerate(ids, start=1)])
    return table("new_entry_ids", column("n", Integer), column("txn_id", String))


def _emit_expired(session: Session, due, now: datetime) -> None:
    """One ``points.expired`` per member, when someone subscribes."""
    endpoints = [e for e in outbox.subscribed_endpoints(session) if "points.expired" in e.events]
    if not endpoints:
        return
    rows = session.execute(
        select(due.c.member_id, func.sum(due.c.remaining), func.count(), func.min(due.c.balance_after))
        .group_by(due.c.member_id).order_by(due.c.member_id))
    for member_id, points, lots, balance in rows:
        outbox.emit(session, "points.expired", member_id, {
            "member_id": member_id, "points": int(points), "lots": int(lots), "balance": int(balance),
        }, now, endpoints=endpoints)


def expire_inactive(session: Session, now: datetime, *, batch_size: int = BATCH_SIZE,
                    max_batches: int | None = None) -> SweepResult:
    """``inactive_after``: every lot of a member with no earning or spending for that long expires.

    Activity is the latest ``earn`` or ``redeem`` entry, or positive
    ``adjust``; a member who has none counts from enrolment. The lots expire
    at the instant the inactivity period ended.
    """
    rules = active_rules(session)
    program = rules.program
    inactive_after = program.expiry.inactive_after if program.expiry else None
    if inactive_after is None:
        return SweepResult()
    zone = program.timezone
    # A day's margin covers DST; the exact instant is checked per member under the lock.
    cutoff = Duration(-inactive_after.months, -inactive_after.days + 1).after(now.astimezone(zone))

    def window(session: Session, cursor, limit: int):
        ids = session.scalars(
            select(Member.id)
            .where(Member.balance > 0, keyset_after(cursor, Member.id),
                   func.coalesce(last_activity(), Member.enrolled_at) <= cutoff)
            .order_by(Member.id).limit(limit)
        ).all()
        return ids, ((ids[-1],) if ids else cursor)

    def process(session: Session, member_ids: list[str]) -> int:
        rows = session.execute(
            select(Member.id, func.coalesce(last_activity(), Member.enrolled_at))
            .where(Member.id.in_(member_ids), Member.balance > 0)
        ).all()
        ended = {member_id: inactive_after.after(active.astimezone(zone)).astimezone(UTC)
                 for member_id, active in rows}
        due = {member_id: at for member_id, at in ended.items() if at <= now}
        for member_id, at in due.items():
            session.execute(
                update(Lot).where(Lot.member_id == member_id, LOT_HOLDS_POINTS,
                                  Lot.expires_at.is_(None) | (Lot.expires_at > at))
                .values(expires_at=at).execution_options(synchronize_session=False))
        if not due:
            return 0
        days = f"{inactive_after.months} months" if inactive_after.months else f"{inactive_after.days} days"
        return expire_due_lots(session, sorted(due), now, rules.version,
                               reason=f"no earning or spending for {days}")

    return sweep(session, window, process, batch_size=batch_size, max_batches=max_batches)


def last_activity():
    """The member's latest earning or spending (correlated to ``Member``)."""
    earned_or_spent = LedgerEntry.type.in_(("earn", "redeem")) | (
        (LedgerEntry.type == "adjust") & (LedgerEntry.points > 0))
    return (select(func.max(LedgerEntry.created_at))
            .where(LedgerEntry.member_id == Member.id, earned_or_spent)
            .scalar_subquery())
