"""When points expire: the expiry policy of the YAML, on the program's wall clock.

A lot's expiry is computed once, when it is earned, and stored with the lot,
so publishing a new policy never moves points already earned, unless the
program says ``redate_earned: true`` (the jobs then re-date them once).

The shapes a marketer can write::

    expiry: {after: 12 months}                    # rolling: same wall-clock time, 12 months on
    expiry: {after: 90 days}
    expiry: {after: 12 months, end_of: quarter}   # ...then to the end of that month/quarter/year
    expiry: {end_of: year}                        # at the end of the calendar year earned
    expiry: {on: 12-31}                           # at the end of the next 31 December
    expiry: {after: 6 months, on: 12-31}          # the first 31 December at least 6 months on
    expiry: {on: 2027-06-30}                      # everything at the end of one fixed day
    expiry: {after: never, inactive_after: 365 days}  # only after a year without earning or spending

"The end of" a day, month, quarter or year is midnight (00:00 program time)
at the start of the next one.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta

from .checker import Checker
from .periods import on_wall_clock

END_OF = ("month", "quarter", "year")
EXPIRY_KEYS = ("after", "end_of", "on", "inactive_after", "redate_earned")
PROGRAM_ONLY = ("inactive_after", "redate_earned")
_DURATION = re.compile(r"\s*(\d+)\s+(day|days|month|months|year|years)\s*")
_MONTH_DAY = re.compile(r"\s*(\d{1,2})-(\d{1,2})\s*")


@dataclass(frozen=True, slots=True)
class Duration:
    months: int = 0
    days: int = 0

    def after(self, local: datetime) -> datetime:
        """`local` plus this duration on the wall clock, still in the program timezone."""
        return on_wall_clock(local, self.months, self.days)


@dataclass(frozen=True, slots=True)
class Expiry:
    """One expiry policy; `never` keeps lots forever (inactivity may still end them)."""

    months: int = 0
    days: int = 0
    end_of: str | None = None
    on: tuple[int, int] | None = None
    on_date: date | None = None
    never: bool = False
    inactive_after: Duration | None = None
    redate_earned: bool = False
    text: str = field(default="", compare=False)

    def expires_at(self, local: datetime) -> datetime | None:
        """When a lot earned at `local` (aware, program timezone) expires, in UTC."""
        if self.never:
            return None
        zone = local.tzinfo
        if self.on_date is not None:
            return start_of_day(self.on_date + timedelta(days=1), zone)
        moved = on_wall_clock(local, self.months, self.days)
        if self.on is not None:
            return start_of_day(_next_month_day(moved.date(), *self.on) + timedelta(days=1), zone)
        if self.end_of is not None:
            return start_of_day(_period_end(moved.date(), self.end_of), zone)
        return moved.astimezone(UTC)


def start_of_day(day: date, zone) -> datetime:
    """00:00 of `day` in `zone`, in UTC (a midnight skipped by DST resolves with fold=0)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone, fold=0).astimezone(UTC)


def _period_end(day: date, period: str) -> date:
    """The first day after the month, quarter or year holding `day`."""
    if period == "year":
        return date(day.year + 1, 1, 1)
    months = 1 if period == "month" else 3 - (day.month - 1) % 3
    return date(day.year, day.month, 1) + relativedelta(months=months)


def _next_month_day(day: date, month: int, day_of_month: int) -> date:
    candidate = date(day.year, month, day_of_month)
    return candidate if candidate >= day else date(day.year + 1, month, day_of_month)


def read_duration(c: Checker, node, path: str, allow_never: bool) -> Duration | None | bool:
    """'12 months' → Duration; 'never' → None (where allowed); False when invalid."""
    text = c.text(node, path, what="a duration like '12 months'")
    if text is None:
        return False
    if text == "never" and allow_never:
        return None
    match = _DURATION.fullmatch(text)
    if not match:
        never = " (or 'never')" if allow_never else ""
        c.error(node, path, f"'{text}' is not a duration; write it like '12 months' or '30 days'{never}")
        return False
    n, word = int(match[1]), match[2]
    if word.startswith("day"):
        return Duration(days=n)
    return Duration(months=n * (12 if word.startswith("year") else 1))


def read_expiry(c: Checker, node, path: str, program_level: bool = False) -> Expiry | None | bool:
    """The `expiry` section (program_level) or a rule's `expires`.

    Returns an Expiry, None for plain 'never', or False when invalid.
    """
    keys = c.mapping(node, path, EXPIRY_KEYS)
    if keys is None:
        return False
    errors_before = len(c.errors)
    if not program_level:
        for name in PROGRAM_ONLY:
            if name in keys:
                c.error(keys[name], f"{path}.{name}",
                        f"'{name}' applies to all of a member's points: put it in the program's expiry section")
    if not {"after", "end_of", "on", "inactive_after"} & keys.keys():
        c.error(node, path, "say when points expire: 'after', 'end_of', 'on' or 'inactive_after'")
    after = read_duration(c, keys["after"], f"{path}.after", allow_never=True) if "after" in keys else Duration()
    end_of = c.choice(keys["end_of"], f"{path}.end_of", END_OF) if "end_of" in keys else None
    on = _read_on(c, keys["on"], f"{path}.on") if "on" in keys else None
    inactive = None
    if "inactive_after" in keys and program_level:
        inactive = read_duration(c, keys["inactive_after"], f"{path}.inactive_after", allow_never=False)
    redate = c.boolean(keys["redate_earned"], f"{path}.redate_earned") if "redate_earned" in keys else False
    never = "after" in keys and after is None
    dated = ("after" in keys and not never) or "end_of" in keys or "on" in keys
    if never and ("end_of" in keys or "on" in keys):
        c.error(keys["after"], f"{path}.after", "'never' cannot be combined with 'end_of' or 'on'")
    if "end_of" in keys and "on" in keys:
        c.error(keys["on"], f"{path}.on", "give 'end_of' or 'on', not both")
    if isinstance(on, date) and "after" in keys:
        c.error(keys["on"], f"{path}.on",
                f"a fixed date ({on}) is the same for every lot; remove 'after', or write the day as MM-DD")
    if len(c.errors) > errors_before:
        return False
    if never and inactive is None and not redate:
        return None
    return Expiry(
        months=after.months if after else 0,
        days=after.days if after else 0,
        end_of=end_of,
        on=on if isinstance(on, tuple) else None,
        on_date=on if isinstance(on, date) else None,
        never=not dated,
        inactive_after=inactive,
        redate_earned=bool(redate),
        text=_describe(keys),
    )


def _read_on(c: Checker, node, path: str) -> tuple[int, int] | date | None:
    found = c.scalar(node, path, "a day like 12-31 (every year) or 2027-06-30 (once)")
    if found is None:
        return None
    text = found[1].strip()
    match = _MONTH_DAY.fullmatch(text)
    if match:
        month, day = int(match[1]), int(match[2])
        if (month, day) == (2, 29):
            c.error(node, path, "29 February is not in every year; use 02-28 or end_of: month")
            return None
        try:
            date(2001, month, day)
        except ValueError:
            c.error(node, path, f"'{text}' is not a day of the year; write it like 12-31")
            return None
        return month, day
    try:
        return date.fromisoformat(text)
    except ValueError:
        c.error(node, path, f"'{text}' is not a day; write 12-31 (every year) or 2027-06-30 (once)")
        return None


def _describe(keys: dict) -> str:
    return ", ".join(f"{name}: {node.value}" for name, node in keys.items() if hasattr(node, "value"))
