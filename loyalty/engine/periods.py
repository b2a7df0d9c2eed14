"""Calendar periods and date arithmetic, always on the program's wall clock."""

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

PERIODS = ("member", "day", "week", "calendar_month", "calendar_year")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def period_key(per: str, local: datetime) -> str:
    """The counter key of the period holding `local`; "member" means ever."""
    if per == "day":
        return local.date().isoformat()
    if per == "calendar_month":
        return f"{local.year:04d}-{local.month:02d}"
    if per == "calendar_year":
        return f"{local.year:04d}"
    if per == "week":
        year, week, _ = local.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if per == "member":
        return "ever"
    raise ValueError(f"unknown period {per!r}")


def local_time(moment: datetime, timezone: ZoneInfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no timezone; pass an aware datetime")
    return moment.astimezone(timezone)


def add_on_wall_clock(local: datetime, months: int = 0, days: int = 0) -> datetime:
    """`local` plus calendar months and days, keeping its wall-clock time, in UTC.

    31 January + 1 month is the last day of February (28th, or 29th in a
    leap year); a time skipped by a DST change resolves with the offset in
    force before it (fold=0).
    """
    return on_wall_clock(local, months, days).astimezone(UTC)


def on_wall_clock(local: datetime, months: int = 0, days: int = 0) -> datetime:
    """``add_on_wall_clock`` left in ``local``'s timezone."""
    naive = local.replace(tzinfo=None) + _calendar_step(months, days)
    return naive.replace(tzinfo=local.tzinfo, fold=0)


@cache
def _calendar_step(months: int, days: int) -> relativedelta:
    """Built once per step: an accrual adds the same few, and building one costs as much as adding it."""
    return relativedelta(months=months, days=days)


class EventClock:
    """The event's moment seen once in the program timezone; keys cached."""

    __slots__ = ("_keys", "local", "occurred_at")

    def __init__(self, occurred_at: datetime, timezone: ZoneInfo):
        self.local = local_time(occurred_at, timezone)
        self.occurred_at = self.local.astimezone(UTC)
        self._keys = {}

    def key(self, per: str) -> str:
        key = self._keys.get(per)
        if key is None:
            key = self._keys[per] = period_key(per, self.local)
        return key
