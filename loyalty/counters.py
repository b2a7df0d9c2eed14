"""Per-member counters kept in the database: rule limits, caps, qualifying points.

These run on every accrual, so their SQL is written once here (the same text
serves SQLite and PostgreSQL) instead of being rebuilt per call. Increments
given a ``WriteBatch`` are written with the batch instead.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Date, String, bindparam, column, event, text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from loyalty.write_batch import WriteBatch

USAGE_SQL = ("SELECT counter_id, period_key, used FROM rule_usage"
             " WHERE member_id = :member_id AND counter_id IN :counters AND period_key IN :periods")
QUALIFYING_SQL = ("SELECT CAST(coalesce(sum(points), 0) AS BIGINT) FROM qualifying_points"
                  " WHERE member_id = :member_id AND day >= :first_day AND day <= :last_day")

USAGE_FOR = text(USAGE_SQL).bindparams(bindparam("counters", expanding=True), bindparam("periods", expanding=True)
                                       ).columns(column("counter_id", String), column("period_key", String),
                                                 column("used", BigInteger))

ADD_USAGE = text(
    "INSERT INTO rule_usage (member_id, counter_id, period_key, used)"
    " VALUES (:member_id, :counter_id, :period_key, :amount)"
    " ON CONFLICT (member_id, counter_id, period_key) DO UPDATE SET used = rule_usage.used + excluded.used"
)

ADD_QUALIFYING = text(
    "INSERT INTO qualifying_points (member_id, day, points) VALUES (:member_id, :day, :points)"
    " ON CONFLICT (member_id, day) DO UPDATE SET points = qualifying_points.points + excluded.points"
).bindparams(bindparam("day", type_=Date))

QUALIFYING_TOTAL = text(QUALIFYING_SQL).bindparams(
    bindparam("first_day", type_=Date), bindparam("last_day", type_=Date))


def usage_keys(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """``:counters`` and ``:periods`` of ``USAGE_SQL`` for these (counter, period) keys."""
    keys = list(keys)
    return {"counters": sorted({counter for counter, _ in keys}), "periods": sorted({period for _, period in keys})}


def usage_for(session: Session, member_id: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The member's use of these (counter, period) keys."""
    names = usage_keys(keys)
    rows = session.execute(USAGE_FOR, {"member_id": member_id, **names}) if names["counters"] else []
    return {(counter, period): used for counter, period, used in rows}


def add_usages(session: Session, increments: Iterable[tuple[str, str, str, int]],
               batch: "WriteBatch | None" = None) -> None:
    """Add ``(member_id, counter_id, period_key, amount)`` increments in one statement (or with ``batch``)."""
    totals: dict[tuple[str, str, str], int] = defaultdict(int)
    for member_id, counter_id, period_key, amount in increments:
        totals[member_id, counter_id, period_key] += amount
    if batch is not None:
        for (member_id, counter_id, period_key), amount in totals.items():
            batch.add_usage(member_id, counter_id, period_key, amount)
    elif totals:
        session.execute(ADD_USAGE, [{"member_id": m, "counter_id": c, "period_key": p, "amount": a}
                                    for (m, c, p), a in totals.items()])


#: ``session.info`` key: qualifying totals read in this transaction, by (member, first day, last day).
#: An accrual needs the total twice (the upgrade check, then the member view); ``add_qualifying``
#: keeps the remembered totals right, and they are forgotten when the transaction ends.
QUALIFYING_TOTALS = "loyalty.qualifying_totals"


def add_qualifying(session: Session, member_id: str, day: date, points: int,
                   batch: "WriteBatch | None" = None) -> None:
    """Add qualifying points to a day; totals remembered in this transaction move with them.

    With ``batch`` the row is written when the batch runs: a total not yet
    remembered must not be read before then.
    """
    if batch is not None:
        batch.add_qualifying(member_id, day, points)
    else:
        session.execute(ADD_QUALIFYING, {"member_id": member_id, "day": day, "points": points})
    for (member, first_day, last_day) in session.info.get(QUALIFYING_TOTALS, {}):
        if member == member_id and first_day <= day <= last_day:
            session.info[QUALIFYING_TOTALS][member, first_day, last_day] += points


def remember_qualifying(session: Session, member_id: str, first_day: date, last_day: date, total: int) -> None:
    """A qualifying total read with other rows (``member_view.read_member``), for ``qualifying_total``."""
    session.info.setdefault(QUALIFYING_TOTALS, {})[member_id, first_day, last_day] = total


def qualifying_total(session: Session, member_id: str, first_day: date, last_day: date) -> int:
    totals = session.info.setdefault(QUALIFYING_TOTALS, {})
    window = (member_id, first_day, last_day)
    if window not in totals:
        totals[window] = int(session.execute(
            QUALIFYING_TOTAL, {"member_id": member_id, "first_day": first_day, "last_day": last_day}).scalar())
    return totals[window]


@event.listens_for(Session, "after_transaction_end")
def _forget_qualifying_totals(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(QUALIFYING_TOTALS, None)
