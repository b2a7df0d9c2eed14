"""Counter rows go once nothing can count in them (COUNTER_RETENTION_DAYS, 100 by default, later).

The demo program caps purchase points per New York day and counts
qualifying points per day over a trailing 365-day window: both are one
member-day row, whose day counters are cleared first and which goes with
its qualifying points.
"""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from loyalty.commands.jobs import purge_counters
from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.models import Member, MemberDay, QualifyingPoints, RuleUsage
from loyalty.services import counters as stored_counters
from loyalty.services import retention
from tests.jobs.conftest import DEMO_YAML, utc
from tests.storage.test_member_days import legacy_rows, member_days

T = "2026-03-10T14:00:00Z"  # 10 March, New York
COFFEE = {"sku": "latte", "category": "coffee", "quantity": 2, "unit_amount": 450}
CAP = "cap:purchase-daily"


def counters(app, member_id: str) -> tuple[list, list]:
    with app.app_context():
        usage = sorted(stored_counters.counters_of(db.session(), member_id), key=lambda key: key[1])
        days = db.session.execute(sa.select(MemberDay.day, MemberDay.qualifying_points)
                                  .where(MemberDay.member_id == member_id)).all()
        db.session.remove()
    return usage, [tuple(row) for row in days]


def add_usage(app, member_id: str, *period_keys: str) -> None:
    with app.app_context():
        with write_transaction(db.session()):
            db.session.add_all([RuleUsage(member_id=member_id, counter_id="rule:review", period_key=key, used=1)
                                for key in period_keys])
        db.session.remove()


def test_a_days_cap_count_goes_100_days_after_the_day_and_its_qualifying_points_after_the_tier_window(
        api, jobs, at, db_backend):
    with at(T):
        member_id = api.enroll()["id"]
        api.purchase(member_id, 1250)
    welcome = ("rule:welcome", "ever")
    usage, days = counters(jobs.app, member_id)
    assert usage == [("cap:purchase-daily", "2026-03-10"), welcome] and days == [(date(2026, 3, 10), 12)]

    # 10 March (New York) ended at 04:00 UTC on 11 March; 100 days later is 19 June.
    assert jobs.run(purge_counters, "2026-06-19T03:59:00Z").done == 0
    assert jobs.run(purge_counters, "2026-06-19T04:00:00Z").done == 1
    assert counters(jobs.app, member_id) == ([welcome], [(date(2026, 3, 10), 12)])

    # 10 March leaves the 365-day window at the end of 9 March 2027; kept 100 days more.
    assert jobs.run(purge_counters, "2027-06-17T03:59:00Z").done == 0
    assert jobs.run(purge_counters, "2027-06-18T04:00:00Z").done == 1
    assert counters(jobs.app, member_id) == ([welcome], [])


def test_weeks_months_and_years_go_when_over_and_a_members_lifetime_counts_never(api, jobs, at, db_backend):
    with at(T):
        member_id = api.enroll()["id"]
    add_usage(jobs.app, member_id, "2026-W10", "2026-W11", "2026-03", "2026-04", "2026", "ever")
    # 100 days before 2026-07-20 is 11 April: week 10 (2–8 March) and March are over by then, week 11
    # (9–15 March) too; April and 2026 are not.
    jobs.run(purge_counters, "2026-07-20T16:00:00Z")
    assert sorted(counters(jobs.app, member_id)[0]) == [
        ("rule:review", "2026"), ("rule:review", "2026-04"), ("rule:review", "ever"), ("rule:welcome", "ever")]
    jobs.run(purge_counters, "2027-04-11T16:00:00Z")  # 100 days after 1 January 2027
    assert sorted(counters(jobs.app, member_id)[0]) == [("rule:review", "ever"), ("rule:welcome", "ever")]


def test_a_tier_review_still_due_keeps_the_days_it_sums(api, jobs, at, db_backend):
    with at(T):
        member_id = api.enroll()["id"]
        api.purchase(member_id, 50000)  # 500 qualifying points: silver, held until 10 March 2027
    with at("2026-09-01T16:00:00Z"):
        api.purchase(member_id, 1000)
    assert jobs.member(member_id).tier_expires_at == utc("2027-03-10T14:00:00Z")
    # 1 September 2026 is more than 465 days back, but the review of the hold that ended on
    # 10 March 2027 has not run yet, and sums 11 March 2026 to 10 March 2027.
    jobs.run(purge_counters, "2027-12-25T16:00:00Z")
    assert [day for day, _ in counters(jobs.app, member_id)[1]] == [date(2026, 9, 1)]


def test_a_longer_window_of_another_published_version_is_kept(api, jobs, at, db_backend):
    jobs.publish(DEMO_YAML.replace("qualifying_window_days: 365", "qualifying_window_days: 730"))
    jobs.publish(DEMO_YAML)  # the active one: 365 days again, but a rollback could bring 730 back
    with at(T):
        member_id = api.enroll()["id"]
        api.purchase(member_id, 1250)
    jobs.run(purge_counters, "2027-06-18T04:00:00Z")
    assert counters(jobs.app, member_id)[1] == [(date(2026, 3, 10), 12)]


def test_purging_works_in_batches_of_members(api, jobs, at, db_backend):
    with at(T):
        members = [api.enroll()["id"] for _ in range(5)]
        for member_id in members:
            api.purchase(member_id, 1250)
    result = jobs.run(purge_counters, "2027-06-18T04:00:00Z", batch_size=2)
    assert (result.done, result.batches) == (5, 3)  # each member's one member-day row
    with jobs.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Member)) == 5
        kept = db.session.scalars(sa.select(RuleUsage.period_key).distinct()).all()
        assert kept == ["ever"]
        db.session.remove()


def test_counters_cannot_be_kept_less_than_the_oldest_an_event_may_be(app):
    with app.app_context(), pytest.raises(ValueError):
        retention.purge_counters(None, utc(T), timedelta(days=89))


def _write_as_an_older_release(app, member_id: str, day: date, points: int, used: int) -> None:
    with app.app_context():
        with write_transaction(db.session()):
            db.session.add_all([QualifyingPoints(member_id=member_id, day=day, points=points),
                                RuleUsage(member_id=member_id, counter_id=CAP, period_key=day.isoformat(), used=used)])
        db.session.remove()


def test_each_run_first_moves_what_an_older_release_wrote_into_member_days(app, api, jobs, at, db_backend):
    with at("2026-11-24T15:00:00Z"):
        member_id = api.enroll()["id"]
        api.purchase(member_id, 1250, items=[COFFEE])
    _write_as_an_older_release(app, member_id, date(2026, 11, 24), 10, 10)  # a till served by the old release
    _write_as_an_older_release(app, member_id, date(2026, 11, 23), 7, 7)
    add_usage(app, member_id, "2026-11")
    assert legacy_rows(app) == 4

    jobs.run(purge_counters, "2026-11-25T15:00:00Z")
    assert legacy_rows(app) == 0
    assert member_days(app, member_id) == [
        (date(2026, 11, 23), 7, {(CAP, ""): 7}), (date(2026, 11, 24), 31, {(CAP, ""): 31})]
    assert ("rule:review", "2026-11") in counters(app, member_id)[0]  # a month's counter is not a day's
    with at("2026-11-24T16:00:00Z"):  # the cap counts what the older release's till earned
        assert sum(a["points"] for a in api.purchase(member_id, 200000)["awarded"]) == 2000 - 31
