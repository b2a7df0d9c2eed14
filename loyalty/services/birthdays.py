"""Birthday awards: the program's ``birthday`` action, fired by the jobs on the member's day.

A member's birthday happens at 00:00 on that date in the program's timezone;
someone born on 29 February has it on 28 February in years without one.
The jobs record a ``birthday`` event for the latest birthday on or before
today (so a run that is late, even by months, still awards it, dated on the
day itself) if it fell after the member enrolled. The event's ``source_id``
``birthday:<member>:<year>`` is unique, so no birthday is ever awarded twice,
whichever host or run gets there first; the rules (``limit: 1 per
calendar_year``) decide the points as for any event.

The event is applied directly (``accrual.apply_event``) rather than through
``record_event``: the 90-day limit on ``occurred_at`` protects against tills
replaying stale sales, and does not apply to a birthday the service itself
dates.
"""

import calendar
from datetime import date, datetime, timedelta

from sqlalchemy import Integer, String, cast, exists, extract, literal, select, union_all
from sqlalchemy.orm import Session

from loyalty.db.transactions import lock_members
from loyalty.db.types import UTCDateTime
from loyalty.engine.expiry import start_of_day
from loyalty.models import Event, Member
from loyalty.services.accrual import EventInput, apply_event
from loyalty.services.rules import active_rules
from loyalty.services.sweep import SweepResult, keyset_after, sweep

ACTION = "birthday"
ACTOR = "jobs"
BATCH_SIZE = 200


def birthday_in(year: int, born: date) -> date:
    """The day a birthday is celebrated in `year`: 29 February falls on 28 February in common years."""
    if (born.month, born.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, born.month, born.day)


def latest_birthday(born: date, today: date) -> date:
    this_year = birthday_in(today.year, born)
    return this_year if this_year <= today else birthday_in(today.year - 1, born)


def source_id(member_id: str, year: int) -> str:
    return f"{ACTION}:{member_id}:{year}"


def award_birthdays(session: Session, now: datetime, *, batch_size: int = BATCH_SIZE,
                    max_batches: int | None = None) -> SweepResult:
    """Award every birthday due at `now` not yet awarded; counts birthday events recorded."""
    rules = active_rules(session)
    program = rules.program
    if ACTION not in program.by_action:
        return SweepResult()
    zone = program.timezone
    today = now.astimezone(zone).date()
    latest = _latest_occurrences(today, zone)
    month_day = extract("month", Member.birthday) * 100 + extract("day", Member.birthday)

    def window(session: Session, cursor, limit: int):
        awarded = exists().where(
            Event.source_id == literal(f"{ACTION}:") + Member.id + ":" + cast(latest.c.year, String))
        ids = session.scalars(
            select(Member.id)
            .join(latest, latest.c.month_day == month_day)
            .where(Member.status == "active", Member.birthday.is_not(None),
                   Member.enrolled_at <= latest.c.at, ~awarded, keyset_after(cursor, Member.id))
            .order_by(Member.id).limit(limit)
        ).all()
        return ids, ((ids[-1],) if ids else cursor)

    def process(session: Session, member_ids: list[str]) -> int:
        awarded = 0
        for member in lock_members(session, member_ids).values():
            awarded += _award(session, rules, member, today, now)
        return awarded

    return sweep(session, window, process, batch_size=batch_size, max_batches=max_batches)


def _award(session: Session, rules, member: Member, today: date, now: datetime) -> int:
    if member.status != "active" or member.birthday is None:
        return 0
    day = latest_birthday(member.birthday, today)
    at = start_of_day(day, rules.program.timezone)
    source = source_id(member.id, day.year)
    if at < member.enrolled_at or session.scalar(select(Event.id).where(Event.source_id == source)):
        return 0
    data = EventInput(type=ACTION, member_id=member.id, source_id=source,
                      attributes={"birthday": member.birthday.isoformat(), "celebrated_on": day.isoformat()})
    apply_event(session, rules, member, data, at, ACTOR, now)
    return 1


def _latest_occurrences(today: date, zone):
    """A small table: for each month*100+day, the year and instant of the latest birthday by `today`."""
    rows = []
    day = date(2000, 1, 1)  # a leap year: every month-day, 29 February included
    while day.year == 2000:
        when = latest_birthday(day, today)
        rows.append(select(literal(day.month * 100 + day.day, Integer).label("month_day"),
                           literal(when.year, Integer).label("year"),
                           literal(start_of_day(when, zone), UTCDateTime).label("at")))
        day += timedelta(days=1)
    return union_all(*rows).subquery("latest_birthdays")
