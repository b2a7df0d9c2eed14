"""Per-member counters kept in the database: rule limits, caps, qualifying points.

These run on every accrual, so their SQL is written once here (the same text
serves SQLite and PostgreSQL) instead of being rebuilt per call.
"""

from collections.abc import Iterable
from datetime import date

from sqlalchemy import BigInteger, Date, String, bindparam, column, text
from sqlalchemy.orm import Session

USAGE_FOR = text(
    "SELECT counter_id, period_key, used FROM rule_usage"
    " WHERE member_id = :member_id AND counter_id IN :counters AND period_key IN :periods"
).bindparams(bindparam("counters", expanding=True), bindparam("periods", expanding=True)).columns(
    column("counter_id", String), column("period_key", String), column("used", BigInteger))

ADD_USAGE = text(
    "INSERT INTO rule_usage (member_id, counter_id, period_key, used)"
    " VALUES (:member_id, :counter_id, :period_key, :amount)"
    " ON CONFLICT (member_id, counter_id, period_key) DO UPDATE SET used = rule_usage.used + excluded.used"
)

ADD_QUALIFYING = text(
    "INSERT INTO qualifying_points (member_id, day, points) VALUES (:member_id, :day, :points)"
    " ON CONFLICT (member_id, day) DO UPDATE SET points = qualifying_points.points + excluded.points"
).bindparams(bindparam("day", type_=Date))

QUALIFYING_TOTAL = text(
    "SELECT coalesce(sum(points), 0) FROM qualifying_points"
    " WHERE member_id = :member_id AND day >= :first_day AND day <= :last_day"
).bindparams(bindparam("first_day", type_=Date), bindparam("last_day", type_=Date))


def usage_for(session: Session, member_id: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    keys = list(keys)
    if not keys:
        return {}
    rows = session.execute(USAGE_FOR, {
        "member_id": member_id,
        "counters": sorted({counter for counter, _ in keys}),
        "periods": sorted({period for _, period in keys}),
    })
    return {(counter, period): used for counter, period, used in rows}


def add_usages(session: Session, increments: Iterable[tuple[str, str, str, int]]) -> None:
    """Add ``(member_id, counter_id, period_key, amount)`` increments in one statement."""
    params = [{"member_id": m, "counter_id": c, "period_key": p, "amount": a} for m, c, p, a in increments]
    if params:
        session.execute(ADD_USAGE, params)


def add_qualifying(session: Session, member_id: str, day: date, points: int) -> None:
    session.execute(ADD_QUALIFYING, {"member_id": member_id, "day": day, "points": points})


def qualifying_total(session: Session, member_id: str, first_day: date, last_day: date) -> int:
    total = session.execute(QUALIFYING_TOTAL,
                            {"member_id": member_id, "first_day": first_day, "last_day": last_day}).scalar()
    return int(total)
