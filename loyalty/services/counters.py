"""Per-member counters kept in the database: rule limits, caps, qualifying points.

These run on every accrual, so their SQL is written once here instead of
being rebuilt per call.

A member-day is one row (``member_days``): its qualifying points and the
day's limits and caps (``per: day``, as JSON). Counters of longer periods
are rows of ``rule_usage``. Callers see one kind of counter, keyed by
``(counter_id, period_key)``; a day's period key is its ISO date.
Increments are added in SQL, so two writers never lose one another's.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import BigInteger, Connection, Date, String, bindparam, column, delete, event, select, text
from sqlalchemy.orm import Session

from loyalty.db import held_rows
from loyalty.models import MemberDay, RuleUsage

USAGE_SQL = ("SELECT counter_id, period_key, used FROM rule_usage"
             " WHERE member_id = :member_id AND counter_id IN :counters AND period_key IN :periods")
#: A day's counters: (day as its period key, JSON). Shaped like USAGE_SQL's first two columns for a UNION.
DAY_USAGE_SQL = ("SELECT CAST(day AS VARCHAR(10)), usage FROM member_days"
                 " WHERE member_id = :member_id AND day IN :days AND usage IS NOT NULL")
QUALIFYING_SQL = ("SELECT CAST(coalesce(sum(qualifying_points), 0) AS BIGINT) FROM member_days"
                  " WHERE member_id = :member_id AND day >= :first_day AND day <= :last_day")

USAGE_FOR = text(f"{USAGE_SQL} UNION ALL {DAY_USAGE_SQL.replace('usage FROM', 'usage, NULL FROM')}").bindparams(
    bindparam("counters", expanding=True), bindparam("periods", expanding=True),
    bindparam("days", type_=Date, expanding=True),
).columns(column("counter_id", String), column("period_key", String), column("used", BigInteger))

ADD_USAGE = text(
    "INSERT INTO rule_usage (member_id, counter_id, period_key, used)"
    " VALUES (:member_id, :counter_id, :period_key, :amount)"
    " ON CONFLICT (member_id, counter_id, period_key) DO UPDATE SET used = rule_usage.used + excluded.used"
)

#: ``usage`` JSON plus the JSON ``added`` to it, key by key; either may be NULL. Per dialect.
_MERGED_USAGE = {
    "postgresql": (
        "CASE WHEN {added} IS NULL THEN {current} WHEN {current} IS NULL THEN {added} ELSE"
        " (SELECT ({current}::jsonb || jsonb_object_agg(e.key, e.value::int8"
        " + coalesce(({current}::jsonb ->> e.key)::int8, 0)))::text FROM jsonb_each_text({added}::jsonb) e) END"),
    "sqlite": (
        "CASE WHEN {added} IS NULL THEN {current} WHEN {current} IS NULL THEN {added} ELSE"
        " json_patch({current}, (SELECT json_group_object(e.key, e.value"
        " + coalesce(json_extract({current}, '$.\"' || e.key || '\"'), 0)) FROM json_each({added}) AS e)) END"),
}


def day_upsert_set(dialect: str) -> str:
    """The ``ON CONFLICT`` of a member-day upsert: points and counters added to the row's."""
    merged = _MERGED_USAGE[dialect].format(current="member_days.usage", added="excluded.usage")
    return ("ON CONFLICT (member_id, day) DO UPDATE SET qualifying_points"
            f" = member_days.qualifying_points + excluded.qualifying_points, usage = {merged}")


_ADD_DAYS = {
    dialect: text("INSERT INTO member_days (member_id, day, qualifying_points, usage)"
                  " VALUES (:member_id, :day, :qualifying_points, :usage) " + day_upsert_set(dialect)
                  ).bindparams(bindparam("day", type_=Date))
    for dialect in _MERGED_USAGE
}

#: Rows releases before migration 0015 wrote, moved into member_days, per dialect. On PostgreSQL a
#: row an older process writes meanwhile stays for the next run; SQLite runs one writer at a time.
_FOLD_LEGACY = {
    "postgresql": [
        "WITH moved AS (DELETE FROM qualifying_points RETURNING member_id, day, points)"
        " INSERT INTO member_days (member_id, day, qualifying_points, usage)"
        " SELECT member_id, day, sum(points), NULL FROM moved GROUP BY member_id, day "
        + day_upsert_set("postgresql"),
        "WITH moved AS (DELETE FROM rule_usage WHERE length(period_key) = 10"
        " RETURNING member_id, counter_id, period_key, used)"
        " INSERT INTO member_days (member_id, day, qualifying_points, usage)"
        " SELECT member_id, CAST(period_key AS date), 0, CAST(jsonb_object_agg(counter_id, used) AS text)"
        " FROM moved GROUP BY member_id, period_key " + day_upsert_set("postgresql"),
    ],
    "sqlite": [
        "INSERT INTO member_days (member_id, day, qualifying_points, usage)"
        " SELECT member_id, day, points, NULL FROM qualifying_points WHERE true " + day_upsert_set("sqlite"),
        "DELETE FROM qualifying_points",
        "INSERT INTO member_days (member_id, day, qualifying_points, usage)"
        " SELECT member_id, period_key, 0, json_group_object(counter_id, used) FROM rule_usage"
        " WHERE length(period_key) = 10 GROUP BY member_id, period_key " + day_upsert_set("sqlite"),
        "DELETE FROM rule_usage WHERE length(period_key) = 10",
    ],
}


def fold_legacy_counters(connection: Connection) -> None:
    """Move day counters as releases before migration 0015 kept them (``qualifying_points`` rows and
    ``rule_usage`` rows of a day) into ``member_days``, adding to what is there."""
    for statement in _FOLD_LEGACY[connection.dialect.name]:
        connection.execute(text(statement))


QUALIFYING_TOTAL = text(QUALIFYING_SQL).bindparams(
    bindparam("first_day", type_=Date), bindparam("last_day", type_=Date))


def day_of(period_key: str) -> date | None:
    """The day a period key names (``engine.periods.period_key`` writes a day as its ISO date), else None."""
    return date.fromisoformat(period_key) if len(period_key) == 10 else None


def day_counters(usage: str | None, period_key: str) -> dict[tuple[str, str], int]:
    """A ``member_days.usage`` value as ``(counter_id, period_key)`` keys."""
    return {(counter, period_key): int(used) for counter, used in json.loads(usage).items()} if usage else {}


def day_rows(usage: dict[tuple[str, str, str], int], qualifying: dict[tuple[str, date], int]
             ) -> tuple[list[dict], list[dict]]:
    """Increments as rows: ``rule_usage`` rows, and ``member_days`` rows each day's points and counters share."""
    longer, days = [], {}
    for (member_id, counter_id, period_key), amount in usage.items():
        day = day_of(period_key)
        if day is None:
            longer.append({"member_id": member_id, "counter_id": counter_id, "period_key": period_key,
                           "amount": amount})
        else:
            days.setdefault((member_id, day), {})[counter_id] = amount
    rows = []
    for member_id, day in sorted(days.keys() | qualifying.keys()):
        counters_of_day = days.get((member_id, day))
        rows.append({"member_id": member_id, "day": day, "qualifying_points": qualifying.get((member_id, day), 0),
                     "usage": json.dumps(counters_of_day, separators=(",", ":")) if counters_of_day else None})
    return longer, rows


def write_increments(session: Session, usage: dict[tuple[str, str, str], int],
                     qualifying: dict[tuple[str, date], int]) -> None:
    """Add summed increments to their rows, one statement per table (``day_rows`` says which rows)."""
    longer, days = day_rows(usage, qualifying)
    if longer:
        held_rows.insert(session, ADD_USAGE, longer)
    if days:
        held_rows.insert(session, _ADD_DAYS[session.get_bind().dialect.name], days)


def usage_keys(keys: Iterable[tuple[str, str]]) -> dict[str, list]:
    """``:counters``, ``:periods`` and ``:days`` of ``USAGE_SQL`` and ``DAY_USAGE_SQL`` for these keys."""
    longer, days = set(), set()
    for counter, period in keys:
        day = day_of(period)
        if day is None:
            longer.add((counter, period))
        else:
            days.add(day)
    return {"counters": sorted({counter for counter, _ in longer}),
            "periods": sorted({period for _, period in longer}), "days": sorted(days)}


def usage_from_rows(rows: Iterable[tuple[str, str, int | None]]) -> dict[tuple[str, str], int]:
    """``USAGE_SQL`` rows and ``DAY_USAGE_SQL`` rows (used NULL) as ``(counter_id, period_key)`` → used."""
    usage = {}
    for first, second, used in rows:
        if used is None:
            usage.update(day_counters(second, first))
        else:
            usage[first, second] = int(used)
    return usage


def usage_for(session: Session, member_id: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The member's use of these (counter, period) keys (and of any other counter of their days)."""
    names = usage_keys(keys)
    if not names["counters"] and not names["days"]:
        return {}
    return usage_from_rows(session.execute(USAGE_FOR, {"member_id": member_id, **names}))


def counters_of(session: Session, member_id: str) -> dict[tuple[str, str], int]:
    """Every limit and cap counter the member has, as ``(counter_id, period_key)`` → used."""
    rows = session.execute(select(RuleUsage.counter_id, RuleUsage.period_key, RuleUsage.used)
                           .where(RuleUsage.member_id == member_id))
    usage = {(counter, period): used for counter, period, used in rows}
    for day, day_usage in session.execute(select(MemberDay.day, MemberDay.usage).where(
            MemberDay.member_id == member_id, MemberDay.usage.is_not(None)).order_by(MemberDay.day)):
        usage.update(day_counters(day_usage, day.isoformat()))
    return usage


def add_usages(session: Session, increments: Iterable[tuple[str, str, str, int]],
               qualifying: dict[tuple[str, date], int] | None = None) -> None:
    """Add ``(member_id, counter_id, period_key, amount)`` increments and qualifying points by
    ``(member_id, day)``, one statement per table: a day's counters and points share its row."""
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for member_id, counter_id, period_key, amount in increments:
        totals[member_id, counter_id, period_key] += amount
    write_increments(session, totals, qualifying or {})
    for (member_id, day), points in (qualifying or {}).items():
        _move_remembered_totals(session, member_id, day, points)


#: ``session.info`` key: qualifying totals read in this transaction, by member, then (first day, last day).
#: An accrual needs the total twice (the upgrade check, then the member view); ``add_qualifying``
#: keeps the remembered totals right, and they are forgotten when the transaction ends. By member
#: first: a batch of events remembers totals of hundreds of members, and moves one member's.
QUALIFYING_TOTALS = "loyalty.qualifying_totals"


def add_qualifying(session: Session, member_id: str, day: date, points: int) -> None:
    """Add qualifying points to a day; totals remembered in this transaction move with them."""
    add_usages(session, (), {(member_id, day): points})


def _move_remembered_totals(session: Session, member_id: str, day: date, points: int) -> None:
    windows = session.info.get(QUALIFYING_TOTALS, {}).get(member_id, {})
    for first_day, last_day in windows:
        if first_day <= day <= last_day:
            windows[first_day, last_day] += points


def _remembered(session: Session, member_id: str) -> dict[tuple[date, date], int]:
    return session.info.setdefault(QUALIFYING_TOTALS, {}).setdefault(member_id, {})


def remember_qualifying(session: Session, member_id: str, first_day: date, last_day: date, total: int) -> None:
    """A qualifying total read with other rows (``member_view.read_member``), for ``qualifying_total``."""
    _remembered(session, member_id)[first_day, last_day] = total


def qualifying_total(session: Session, member_id: str, first_day: date, last_day: date) -> int:
    windows = _remembered(session, member_id)
    if (first_day, last_day) not in windows:
        windows[first_day, last_day] = int(session.execute(
            QUALIFYING_TOTAL, {"member_id": member_id, "first_day": first_day, "last_day": last_day}).scalar())
    return windows[first_day, last_day]


@event.listens_for(Session, "after_transaction_end")
def _forget_qualifying_totals(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(QUALIFYING_TOTALS, None)


def move_counters(session: Session, from_member_id: str, to_member_id: str) -> None:
    """A merge: every counter of one member (limits, caps, qualifying points) added to another's, and gone
    from the first. A limit is the person's: two members' uses add up under it."""
    longer = [{"member_id": to_member_id, "counter_id": counter, "period_key": period, "amount": used}
              for counter, period, used in session.execute(
                  select(RuleUsage.counter_id, RuleUsage.period_key, RuleUsage.used)
                  .where(RuleUsage.member_id == from_member_id))]
    days = [{"member_id": to_member_id, "day": day, "qualifying_points": points, "usage": usage}
            for day, points, usage in session.execute(
                select(MemberDay.day, MemberDay.qualifying_points, MemberDay.usage)
                .where(MemberDay.member_id == from_member_id))]
    if longer:
        session.execute(ADD_USAGE, longer)
        session.execute(delete(RuleUsage).where(RuleUsage.member_id == from_member_id))
    if days:
        session.execute(_ADD_DAYS[session.get_bind().dialect.name], days)
        session.execute(delete(MemberDay).where(MemberDay.member_id == from_member_id))
    session.info.pop(QUALIFYING_TOTALS, None)
