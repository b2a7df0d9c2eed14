"""One change's rows, written together: one statement on PostgreSQL.

An accrual writes an event, ledger entries with their lots, counter
increments and its members' new totals. None of them needs anything back
from another. On PostgreSQL the rows travel as JSON into one fixed
statement of data-modifying CTEs (foreign keys are checked at the end of
the statement), which also answers with the live webhook
endpoints the change must tell: one round trip and one prepared statement
instead of nine. SQLite has no INSERT or UPDATE inside WITH, so there the
rows are written by the usual one-table statements (in process, there is no
round trip to save).

All parts of the statement read the snapshot from before it: nothing may be
added that needs to see another part's row, and no row may be written twice
(counter increments are summed per row first).
"""

import json
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import bindparam, inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from loyalty import ledger
from loyalty.db.types import PackedJSON, pack_json
from loyalty.ledger import counters
from loyalty.models import Event, LedgerEntry, Lot, Member, MemberDay, RuleUsage
from loyalty.outbox.events import ENDPOINT_COLUMNS, LIVE_ENDPOINTS, LIVE_ENDPOINTS_SQL

EVENTS, ENTRIES, LOTS, MEMBERS, USAGE, DAYS = (
    model.__table__ for model in (Event, LedgerEntry, Lot, Member, RuleUsage, MemberDay))
EVENT_COLUMNS = tuple(EVENTS.c.keys())
ENTRY_COLUMNS = tuple(name for name in ENTRIES.c.keys() if name != "seq")
LOT_COLUMNS = tuple(name for name in LOTS.c.keys() if name != "id")
#: What a change of points moves on a member; other changed attributes are left to the unit of work.
MEMBER_COLUMNS = ("id", "balance", "pending", "lifetime_earned", "lifetime_redeemed", "tier_id", "tier_since",
                  "tier_expires_at", "purchase_count", "first_purchase_at", "second_purchase_at",
                  "last_purchase_at", "referrals_earned", "lifecycle_stage", "last_activity_at")
PACKED = {name for name, column in EVENTS.c.items() if isinstance(column.type, PackedJSON)}
#: Short names keep the statement under psycopg's 4 KB limit for caching a query.
SHORT_TYPES = {"varchar": "text", "timestamp with time zone": "timestamptz"}


def _sql_type(column) -> str:
    name = column.type.compile(dialect=postgresql.dialect()).split("(")[0].lower()
    return SHORT_TYPES.get(name, name)


def _rows(prefix: str, table, columns: tuple[str, ...]) -> str:
    """Rows passed as one JSON parameter: few parameters and a short text, which psycopg caches."""
    declared = ", ".join(f"{name} {_sql_type(table.c[name])}" for name in columns)
    return f"jsonb_to_recordset(CAST(:{prefix} AS jsonb)) AS {prefix}({declared})"


def _listed(columns: tuple[str, ...], alias: str = "") -> str:
    return ", ".join(f"{alias}{name}" for name in columns)


MEMBER_SET = ", ".join(f"{name} = m.{name}" for name in MEMBER_COLUMNS[1:])

#: The whole batch on PostgreSQL: a fixed text, so psycopg prepares it once per connection.
WRITE_ALL = text(
    f"WITH new_events AS (INSERT INTO events ({_listed(EVENT_COLUMNS)})"
    f" SELECT {_listed(EVENT_COLUMNS, 'ev.')} FROM {_rows('ev', EVENTS, EVENT_COLUMNS)}),"
    f" new_entries AS (INSERT INTO ledger_entries ({_listed(ENTRY_COLUMNS)})"
    f" SELECT {_listed(ENTRY_COLUMNS, 'en.')} FROM {_rows('en', ENTRIES, ENTRY_COLUMNS)}),"
    f" new_lots AS (INSERT INTO lots ({_listed(LOT_COLUMNS)})"
    f" SELECT {_listed(LOT_COLUMNS, 'lo.')} FROM {_rows('lo', LOTS, LOT_COLUMNS)}),"
    " usage AS (INSERT INTO rule_usage (member_id, counter_id, period_key, used)"
    f" SELECT * FROM {_rows('us', USAGE, ('member_id', 'counter_id', 'period_key', 'used'))}"
    " ON CONFLICT (member_id, counter_id, period_key) DO UPDATE SET used = rule_usage.used + excluded.used),"
    " days AS (INSERT INTO member_days (member_id, day, qualifying_points, usage)"
    f" SELECT * FROM {_rows('da', DAYS, ('member_id', 'day', 'qualifying_points', 'usage'))}"
    f" {counters.day_upsert_set('postgresql')}),"
    f" totals AS (UPDATE members SET {MEMBER_SET} FROM {_rows('m', MEMBERS, MEMBER_COLUMNS)}"
    " WHERE members.id = m.id AND members.id = ANY(CAST(:member_ids AS varchar[])))"
    f" {LIVE_ENDPOINTS_SQL}"
).columns(*ENDPOINT_COLUMNS)

INSERT_EVENT = EVENTS.insert()
UPDATE_TOTALS = MEMBERS.update().where(MEMBERS.c.id == bindparam("member_key")).values(
    {name: bindparam(f"new_{name}") for name in MEMBER_COLUMNS[1:]})


def _json(rows: list[dict]) -> str:
    return json.dumps(rows, separators=(",", ":"), default=_json_value)


def _json_value(value) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()  # bytea's text form
    raise TypeError(f"{type(value).__name__} is not a column value")


class WriteBatch:
    """Rows to write together; ``run`` writes them and returns the live webhook endpoints."""

    def __init__(self, session: Session):
        self.session = session
        self.combined = session.get_bind().dialect.name == "postgresql"
        self.events: list[dict] = []
        self.entries: list[dict] = []
        self.lots: list[dict] = []
        self.usage: dict[tuple[str, str, str], int] = defaultdict(int)
        self.qualifying: dict[tuple[str, date], int] = defaultdict(int)
        self.members: list = []

    def add_usage(self, member_id: str, counter_id: str, period_key: str, amount: int) -> None:
        self.usage[member_id, counter_id, period_key] += amount

    def add_qualifying(self, member_id: str, day: date, points: int) -> None:
        self.qualifying[member_id, day] += points

    def update(self, member: Member) -> None:
        """Write the member's totals with the batch; the unit of work then takes them as written."""
        self.members.append(member)

    def run(self) -> list:
        totals = [{name: getattr(member, name) for name in MEMBER_COLUMNS} for member in self.members]
        if self.combined:
            endpoints = self.session.execute(WRITE_ALL, self._json_rows(totals)).all()
        else:
            self._write_one_by_one(totals)
            endpoints = self.session.execute(LIVE_ENDPOINTS).all()
        for member, written in zip(self.members, totals, strict=True):
            state = inspect(member)
            changed = state.committed_state.keys()  # the unit of work's record of what it would write
            if changed <= written.keys():
                # All of it is written: a clean member spares the commit a flush that would find nothing.
                state._commit_all(state.dict, self.session.identity_map)
            else:
                for name in changed & written.keys():
                    set_committed_value(member, name, written[name])
        return endpoints

    def _json_rows(self, totals: list[dict]) -> dict[str, str | list[str]]:
        def packed(row: dict) -> dict:
            return {**row, **{name: None if row[name] is None else pack_json(row[name])
                              for name in PACKED & row.keys()}}

        longer, days = counters.day_rows(self.usage, self.qualifying)
        return {
            "ev": _json([packed(event) for event in self.events]),
            "en": _json(self.entries),
            "lo": _json(self.lots),
            "us": _json([{"member_id": row["member_id"], "counter_id": row["counter_id"],
                          "period_key": row["period_key"], "used": row["amount"]} for row in longer]),
            "da": _json(days),
            "m": _json(totals),
            "member_ids": [written["id"] for written in totals],  # by the primary key, whatever the estimates
        }

    def _write_one_by_one(self, totals: list[dict]) -> None:
        session = self.session
        for event in self.events:
            session.execute(INSERT_EVENT, event)
        ledger.write_entries_and_lots(session, self.entries, self.lots)
        counters.write_increments(session, self.usage, self.qualifying)
        if totals:
            session.execute(UPDATE_TOTALS, [{"member_key": written["id"], **{f"new_{name}": written[name]
                                             for name in MEMBER_COLUMNS[1:]}} for written in totals])
