"""Counter rows nothing can read or change any more are deleted, a batch of members at a time.

A ``rule_usage`` row counts a limit or a cap in one period (an ISO week, a
calendar month or year, or ``ever``); a ``member_days`` row's ``usage``
counts those of one day. Once the period is over, only an event dated
inside it could still count there, and no event may be dated more than
``accrual.MAX_PAST`` back. A ``member_days`` row's qualifying points count
one program day; once the day is out of the longest tier window any
published rules version uses (a rollback may bring a longer one back), and
out of the window of every tier review still due, no tier decision sums it.

Both are kept ``keep`` longer than that: a day's usage is then cleared, and
the row goes once its points go too (or with its usage, when it has none).
A refund of a purchase older than that writes a row for the purchase's day
again; it counts for nothing and goes at the next run.

Each run first moves into ``member_days`` what a release before migration
0015 wrote in the old tables during a rolling upgrade.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from loyalty.db.transactions import write_transaction
from loyalty.models import Member, MemberDay, RulesVersion, RuleUsage
from loyalty.services import counters
from loyalty.services.accrual import MAX_PAST
from loyalty.services.rules import active_rules, program_for_version
from loyalty.services.sweep import SweepResult
from loyalty.services.tiers import program_day


@dataclass(frozen=True)
class Cutoffs:
    """Before which rows go: a day's counters (``day``), longer periods (keys as ``engine.periods.period_key``
    writes them) and qualifying points (``qualifying_day``)."""

    day: date
    week: str
    month: str
    year: str
    qualifying_day: date


def cutoffs(session: Session, now: datetime, keep: timedelta) -> Cutoffs:
    program = active_rules(session).program
    today = program_day(program, now)
    over = today - timedelta(days=keep.days)  # a period that ended on or before this day goes
    iso_year, iso_week, _ = over.isocalendar()
    windows = [program_for_version(session, version).qualifying_window.days
               for version in session.scalars(select(RulesVersion.version))]
    first_kept = today - timedelta(days=max(windows) - 1) - timedelta(days=keep.days)
    oldest_review = session.scalar(select(func.min(Member.tier_expires_at)).where(Member.tier_expires_at <= now))
    if oldest_review is not None:
        first_kept = min(first_kept, program_day(program, oldest_review) - timedelta(days=max(windows) - 1))
    return Cutoffs(day=over, week=f"{iso_year:04d}-W{iso_week:02d}", month=over.isoformat()[:7],
                   year=f"{over.year:04d}", qualifying_day=first_kept)


def _usage_over(cut: Cutoffs):
    key, length = RuleUsage.period_key, func.length(RuleUsage.period_key)
    return or_(and_(length == 8, key < cut.week),
               and_(length == 7, key < cut.month), and_(length == 4, key != "ever", key < cut.year))


def purge_counters(session: Session, now: datetime, keep: timedelta, *, batch_size: int = 1000) -> SweepResult:
    """Delete the counter rows of ``batch_size`` members per committed transaction; ``done`` counts rows.

    No lock is taken: accruals only write periods and days younger than
    these, so two runs at once (or an accrual meanwhile) cannot disagree.
    """
    if keep < MAX_PAST:
        raise ValueError(f"counters must be kept at least {MAX_PAST.days} days: events may be dated that far back")
    with write_transaction(session):
        counters.fold_legacy_counters(session.connection())
    cut = cutoffs(session, now, keep)
    result, last = SweepResult(), ""
    while True:
        with write_transaction(session):
            ids = session.scalars(select(Member.id).where(Member.id > last).order_by(Member.id).limit(batch_size)).all()
            if ids:
                members = RuleUsage.member_id.between(ids[0], ids[-1])
                result.done += session.execute(delete(RuleUsage).where(members, _usage_over(cut))
                                              .execution_options(synchronize_session=False)).rowcount
                members = MemberDay.member_id.between(ids[0], ids[-1])
                result.done += session.execute(
                    delete(MemberDay).where(members, or_(MemberDay.day < cut.qualifying_day, and_(
                        MemberDay.day < cut.day, MemberDay.qualifying_points == 0)))
                    .execution_options(synchronize_session=False)).rowcount
                result.done += session.execute(
                    update(MemberDay).where(members, MemberDay.day < cut.day, MemberDay.usage.is_not(None))
                    .values(usage=None).execution_options(synchronize_session=False)).rowcount
        result.batches += 1
        if len(ids) < batch_size:
            return result
        last = ids[-1]
