"""Program reports: members, points flows, liability and timing, aggregated in SQL.

Calendar buckets (day, ISO week from Monday, month) are the program's
timezone. SQLite has no timezones, so there each timestamp is shifted by the
UTC offset in force at that moment (a CASE over the DST changes in the
range); PostgreSQL converts with ``timezone()``. Either way the database
groups and sums; Python only fills empty buckets.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import case, extract, func, select
from sqlalchemy.orm import Session

from loyalty.engine import STAGES, Program
from loyalty.errors import ValidationFailed
from loyalty.models import Event, LedgerEntry, Lot, Member

INTERVALS = ("day", "week", "month")
MAX_BUCKETS = 1000
EXPIRING_WITHIN = (30, 60, 90)


@dataclass(frozen=True)
class Metric:
    unit: str  # points | minor_units | members | events
    description: str


METRICS = {
    "points_issued": Metric("points", "points earned (earn entries)"),
    "points_redeemed": Metric("points", "points spent on rewards (redeem entries)"),
    "points_voided": Metric("points", "points given back by voided redemptions"),
    "points_expired": Metric("points", "points removed by expiry"),
    "points_reversed": Metric("points", "points taken back by refunds"),
    "points_adjusted": Metric("points", "manual adjustments, signed"),
    "outstanding_points": Metric("points", "balance of all members at the end of each bucket"),
    "outstanding_liability": Metric("minor_units", "outstanding points × point value, in the program currency"),
    "members_enrolled": Metric("members", "members who enrolled"),
    "first_purchases": Metric("members", "members who made their first purchase"),
    "purchases": Metric("events", "purchases recorded (by when they happened)"),
}

#: Ledger entry type of each flow metric, and the sign that makes it a positive figure.
FLOWS = {
    "points_issued": ("earn", 1),
    "points_redeemed": ("redeem", -1),
    "points_voided": ("void", 1),
    "points_expired": ("expire", -1),
    "points_reversed": ("reverse", -1),
    "points_adjusted": ("adjust", 1),
}


def check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed({"to": ["must be after from"]})


def summary(session: Session, program: Program, start: datetime, end: datetime, now: datetime) -> dict:
    check_window(start, end)
    flows = _flows(session, start, end)
    issued_ever = _flows(session, None, end)
    outstanding = _balance_before(session, end)
    issued_total = issued_ever["points_issued"]
    redeemed_net = issued_ever["points_redeemed"] - issued_ever["points_voided"]
    return {
        "from": start, "to": end, "currency": program.currency, "point_value": program.point_value,
        "members": _members(session, program, start, end, now),
        "points": {name.removeprefix("points_"): flows[name] for name in FLOWS},
        "outstanding_points": outstanding,
        "outstanding_liability": outstanding * program.point_value,
        "pending_points": int(session.scalar(select(func.coalesce(func.sum(Member.pending), 0)))),
        "expiring": [{"within_days": days, "points": _expiring(session, now, days)} for days in EXPIRING_WITHIN],
        "breakage": _ratio(issued_ever["points_expired"], issued_total),
        "redemption_rate": _ratio(redeemed_net, issued_total),
        "average_days_to_first_purchase": _average_days(
            session, Member.enrolled_at, Member.first_purchase_at, start, end),
        "average_days_first_to_second_purchase": _average_days(
            session, Member.first_purchase_at, Member.second_purchase_at, start, end),
    }


def timeseries(session: Session, program: Program, metric: str, interval: str, start: datetime,
               end: datetime) -> dict:
    check_window(start, end)
    tz = program.timezone
    starts = _bucket_starts(interval, _local_day(start, tz), _local_day(end - timedelta(microseconds=1), tz))
    if len(starts) > MAX_BUCKETS:
        raise ValidationFailed({"interval": [f"more than {MAX_BUCKETS} buckets: choose a longer interval"]})
    values = _bucket_values(session, metric, interval, tz, start, end)
    if metric in ("outstanding_points", "outstanding_liability"):
        running = _balance_before(session, start)
        for day in starts:
            running += values.get(day, 0)
            values[day] = running * (program.point_value if metric == "outstanding_liability" else 1)
    return {
        "metric": metric, "interval": interval, "unit": METRICS[metric].unit, "from": start, "to": end,
        "timezone": tz.key, "currency": program.currency,
        "data": [{"date": day, "start": max(_midnight(day, tz), start), "value": int(values.get(day, 0))}
                 for day in starts],
    }


def _bucket_values(session: Session, metric: str, interval: str, tz: ZoneInfo, start: datetime,
                   end: datetime) -> Counter:
    if metric in FLOWS:
        entry_type, sign = FLOWS[metric]
        column, value, where = LedgerEntry.created_at, func.sum(LedgerEntry.points) * sign, \
            [LedgerEntry.type == entry_type]
    elif metric in ("outstanding_points", "outstanding_liability"):
        column, value, where = LedgerEntry.created_at, func.sum(LedgerEntry.points), []
    elif metric == "members_enrolled":
        column, value, where = Member.enrolled_at, func.count(), []
    elif metric == "first_purchases":
        column, value, where = Member.first_purchase_at, func.count(), []
    else:
        column, value, where = Event.occurred_at, func.count(), [Event.type == "purchase"]
    bucket = _bucket(session, column, interval, tz, start, end).label("bucket")
    rows = session.execute(
        select(bucket, value).where(column >= start, column < end, *where).group_by(bucket)
    )
    return Counter({_as_date(key): int(total or 0) for key, total in rows})


def _bucket(session: Session, column, interval: str, tz: ZoneInfo, start: datetime, end: datetime):
    """The local calendar day that starts the bucket holding ``column``, as SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.date_trunc(interval, func.timezone(tz.key, column)))
    shifts = _utc_offsets(tz, start, end)
    offset = case(*[(column < until, f"{minutes:+d} minutes") for until, minutes in shifts[:-1]],
                  else_=f"{shifts[-1][1]:+d} minutes") if len(shifts) > 1 else f"{shifts[0][1]:+d} minutes"
    local = func.datetime(column, offset)
    if interval == "day":
        return func.date(local)
    if interval == "week":
        return func.date(local, "weekday 0", "-6 days")
    return func.strftime("%Y-%m-01", local)


def _utc_offsets(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime | None, int]]:
    """[(until, offset minutes)…]: the offset in force before each change in [start, end)."""
    def minutes(moment: datetime) -> int:
        return int(moment.astimezone(tz).utcoffset().total_seconds() // 60)

    shifts = []
    moment, current = start, minutes(start)
    while moment < end:
        step = min(moment + timedelta(days=1), end)
        if minutes(step) != current:
            low, high = moment, step  # the change is in (low, high]: narrow it to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if minutes(middle) == current else (low, middle)
            shifts.append((high, current))
            current = minutes(high)
        moment = step
    shifts.append((None, current))
    return shifts


def _bucket_starts(interval: str, first: date, last: date) -> list[date]:
    if interval == "week":
        first -= timedelta(days=first.weekday())
        step = relativedelta(weeks=1)
    elif interval == "month":
        first = first.replace(day=1)
        step = relativedelta(months=1)
    else:
        step = relativedelta(days=1)
    starts = []
    while first <= last and len(starts) <= MAX_BUCKETS:
        starts.append(first)
        first += step
    return starts


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _flows(session: Session, start: datetime | None, end: datetime) -> dict[str, int]:
    where = [LedgerEntry.created_at < end]
    if start is not None:
        where.append(LedgerEntry.created_at >= start)
    sums = dict(session.execute(
        select(LedgerEntry.type, func.sum(LedgerEntry.points)).where(*where).group_by(LedgerEntry.type)
    ).all())
    return {name: int(sums.get(entry_type) or 0) * sign for name, (entry_type, sign) in FLOWS.items()}


def _balance_before(session: Session, moment: datetime) -> int:
    return int(session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.created_at < moment)
    ))


def _expiring(session: Session, now: datetime, days: int) -> int:
    return int(session.scalar(
        select(func.coalesce(func.sum(Lot.remaining), 0))
        .where(Lot.status == "active", Lot.remaining > 0, Lot.expires_at > now,
               Lot.expires_at <= now + timedelta(days=days))
    ))


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _members(session: Session, program: Program, start: datetime, end: datetime, now: datetime) -> dict:
    """Counts as of now; the stage is worked out here, so it never waits for a job to refresh it."""
    today = _local_day(now, program.timezone)
    lapsed_before = _midnight(today - timedelta(days=program.lapsed_after_days), program.timezone)
    lapsing_before = _midnight(today - timedelta(days=program.repeat_within_days), program.timezone)
    stage = case(
        (Member.purchase_count <= 0, "enrolled"),
        (Member.last_purchase_at < lapsed_before, "lapsed"),
        (Member.last_purchase_at < lapsing_before, "lapsing"),
        (Member.purchase_count == 1, "first_purchase"),
        (Member.referrals_earned >= 1, "advocate"),
        else_="repeat",
    ).label("stage")
    current = Member.status != "erased"
    by_tier = dict(session.execute(
        select(Member.tier_id, func.count()).where(current).group_by(Member.tier_id)).all())
    by_stage = dict(session.execute(select(stage, func.count()).where(current).group_by(stage)).all())
    funnel = session.execute(select(
        func.count(),
        func.coalesce(func.sum(case((Member.purchase_count >= 1, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Member.purchase_count >= 2, 1), else_=0)), 0),
        func.coalesce(func.sum(case(((Member.purchase_count >= 2) & (Member.referrals_earned >= 1), 1),
                                    else_=0)), 0),
    ).where(current)).one()
    tier_ids = [tier.id for tier in program.tiers]
    return {
        "total": int(funnel[0]),
        "enrolled_in_window": int(session.scalar(
            select(func.count()).where(Member.enrolled_at >= start, Member.enrolled_at < end))),
        "by_tier": [{"tier": tier_id, "members": int(by_tier.get(tier_id, 0))}
                    for tier_id in tier_ids + sorted(set(by_tier) - set(tier_ids))],
        "by_lifecycle_stage": [{"stage": name, "members": int(by_stage.get(name, 0))} for name in STAGES],
        "funnel": [{"stage": name, "members": int(count)}
                   for name, count in zip(("enrolled", "first_purchase", "repeat", "advocate"), funnel,
                                          strict=True)],
    }


def _average_days(session: Session, since, until, start: datetime, end: datetime) -> float | None:
    """Mean days from ``since`` to ``until`` for members whose ``until`` falls in the window."""
    if session.get_bind().dialect.name == "postgresql":
        days = extract("epoch", until - since) / 86400
    else:
        days = func.julianday(until) - func.julianday(since)
    value = session.scalar(
        select(func.avg(days)).where(until.is_not(None), since.is_not(None), until >= start, until < end)
    )
    return round(float(value), 1) if value is not None else None
