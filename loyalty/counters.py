"""Per-member counters kept in the database: rule limits, caps, qualifying points."""

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from loyalty.models import QualifyingPoints, RuleUsage


def _upsert(session: Session, model, values: dict, keys: list[str], column: str) -> None:
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert
    statement = insert(model).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={column: getattr(model, column) + statement.excluded[column]},
    )
    session.execute(statement)


def usage_for(session: Session, member_id: str, keys) -> dict[tuple[str, str], int]:
    keys = list(keys)
    if not keys:
        return {}
    periods = {period for _, period in keys}
    counters = {counter for counter, _ in keys}
    rows = session.execute(
        select(RuleUsage.counter_id, RuleUsage.period_key, RuleUsage.used).where(
            RuleUsage.member_id == member_id,
            RuleUsage.counter_id.in_(counters),
            RuleUsage.period_key.in_(periods),
        )
    )
    return {(counter, period): used for counter, period, used in rows}


def add_usage(session: Session, member_id: str, counter_id: str, period_key: str, amount: int) -> None:
    _upsert(
        session,
        RuleUsage,
        {"member_id": member_id, "counter_id": counter_id, "period_key": period_key, "used": amount},
        ["member_id", "counter_id", "period_key"],
        "used",
    )


def add_qualifying(session: Session, member_id: str, day: date, points: int) -> None:
    _upsert(
        session,
        QualifyingPoints,
        {"member_id": member_id, "day": day, "points": points},
        ["member_id", "day"],
        "points",
    )


def qualifying_total(session: Session, member_id: str, first_day: date, last_day: date) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(QualifyingPoints.points), 0)).where(
            QualifyingPoints.member_id == member_id,
            QualifyingPoints.day >= first_day,
            QualifyingPoints.day <= last_day,
        )
    )
    return int(total)
