"""Birthday awards: 200 points once per calendar year, on the day in New York (rules/program.yaml).

A birthday starts at 00:00 New York time; 29 February birthdays fall on
28 February in years without one.
"""

import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.models import Event
from loyalty.services.birthdays import award_birthdays, birthday_in, latest_birthday
from tests.jobs.conftest import utc


def enroll(api, at, moment, **fields):
    with at(moment):
        return api.enroll(**fields)["id"]


def birthday_events(jobs, member_id):
    with jobs.app.app_context():
        rows = db.session.execute(
            sa.select(Event.source_id, Event.occurred_at, Event.actor)
            .where(Event.member_id == member_id, Event.type == "birthday").order_by(Event.occurred_at)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def birthday_points(jobs, member_id):
    return [(e.points, e.expires_at) for e in jobs.entries(member_id, "earn") if e.rule_id == "birthday"]


def test_the_birthday_is_awarded_from_midnight_new_york_time(api, jobs, at, db_backend):
    member_id = enroll(api, at, "2027-01-10T17:00:00Z", birthday="1990-03-15")
    # DST started on 14 March 2027: midnight on the 15th is 04:00Z
    assert jobs.run(award_birthdays, "2027-03-15T03:59:59Z").done == 0
    assert jobs.run(award_birthdays, "2027-03-15T04:00:00Z").done == 1
    assert birthday_events(jobs, member_id) == [
        (f"birthday:{member_id}:2027", utc("2027-03-15T04:00:00Z"), "jobs")]
    assert birthday_points(jobs, member_id) == [(200, utc("2028-03-15T04:00:00Z"))]
    assert jobs.member(member_id).balance == 50 + 200
    assert jobs.run(award_birthdays, "2027-03-15T04:00:00Z").done == 0
    assert jobs.run(award_birthdays, "2027-03-16T12:00:00Z").done == 0
    assert jobs.run(award_birthdays, "2027-12-31T12:00:00Z").done == 0
    jobs.assert_ledger_whole()


def test_a_run_months_late_still_awards_the_birthday_on_its_day(api, jobs, at, db_backend):
    member_id = enroll(api, at, "2027-01-10T17:00:00Z", birthday="1990-03-15")
    assert jobs.run(award_birthdays, "2027-08-01T12:00:00Z").done == 1   # 139 days late: past the tills' 90
    assert birthday_events(jobs, member_id)[0][1] == utc("2027-03-15T04:00:00Z")
    assert birthday_points(jobs, member_id) == [(200, utc("2028-03-15T04:00:00Z"))]
    assert jobs.run(award_birthdays, "2027-08-02T12:00:00Z").done == 0


def test_29_february_birthdays_fall_on_28_february_in_common_years(api, jobs, at, db_backend):
    member_id = enroll(api, at, "2026-12-01T17:00:00Z", birthday="2000-02-29")
    assert jobs.run(award_birthdays, "2027-02-28T04:59:59Z").done == 0
    assert jobs.run(award_birthdays, "2027-02-28T05:00:00Z").done == 1    # no 29 February in 2027
    assert jobs.run(award_birthdays, "2028-02-29T04:59:59Z").done == 0    # 2028 has one: not the 28th
    assert jobs.run(award_birthdays, "2028-02-29T05:00:00Z").done == 1
    assert [event[:2] for event in birthday_events(jobs, member_id)] == [
        (f"birthday:{member_id}:2027", utc("2027-02-28T05:00:00Z")),
        (f"birthday:{member_id}:2028", utc("2028-02-29T05:00:00Z"))]


def test_a_birthday_before_enrolment_waits_for_next_year(api, jobs, at, db_backend):
    member_id = enroll(api, at, "2027-04-01T16:00:00Z", birthday="1990-03-15")
    assert jobs.run(award_birthdays, "2027-04-02T12:00:00Z").done == 0
    assert jobs.run(award_birthdays, "2028-03-15T03:59:59Z").done == 0
    assert jobs.run(award_birthdays, "2028-03-15T04:00:00Z").done == 1
    assert [s for s, *_ in birthday_events(jobs, member_id)] == [f"birthday:{member_id}:2028"]


def test_no_birthday_no_award_and_suspended_members_get_none(api, jobs, at, db_backend):
    plain = enroll(api, at, "2027-01-10T17:00:00Z")
    suspended = enroll(api, at, "2027-01-10T17:00:00Z", birthday="1990-03-15")
    with at("2027-01-11T17:00:00Z"):
        assert api.patch(f"/v1/members/{suspended}", {"status": "suspended"}).status_code == 200
    assert jobs.run(award_birthdays, "2027-03-20T12:00:00Z").done == 0
    assert birthday_events(jobs, plain) == birthday_events(jobs, suspended) == []


def test_once_per_calendar_year_even_if_a_till_sent_one(api, jobs, at, db_backend):
    member_id = enroll(api, at, "2027-01-10T17:00:00Z", birthday="1990-03-15")
    with at("2027-03-10T17:00:00Z"):
        api.action(member_id, "birthday")
    jobs.run(award_birthdays, "2027-03-15T04:00:00Z")
    assert [p for p, _ in birthday_points(jobs, member_id)] == [200]
    assert len(birthday_events(jobs, member_id)) == 2    # the job's event is recorded, earning nothing


def test_birthday_runs_started_together_award_once(api, jobs, at, db_backend):
    from tests.jobs.test_expiry_batches import run_together

    members = jobs.seed(6, "2027-01-10T17:00:00Z", birthday=utc("1990-03-15T00:00:00Z").date())
    results = run_together(jobs, [lambda: jobs.run(award_birthdays, "2027-03-15T04:00:00Z", batch_size=2)] * 2)
    assert sum(r.done for r in results) == 6
    for member_id in members:
        assert len(birthday_points(jobs, member_id)) == 1
    jobs.assert_ledger_whole()


def test_the_birthday_calendar():
    from datetime import date

    assert birthday_in(2027, date(2000, 2, 29)) == date(2027, 2, 28)
    assert birthday_in(2028, date(2000, 2, 29)) == date(2028, 2, 29)
    assert latest_birthday(date(1990, 12, 31), date(2027, 1, 5)) == date(2026, 12, 31)
    assert latest_birthday(date(1990, 1, 5), date(2027, 1, 5)) == date(2027, 1, 5)
