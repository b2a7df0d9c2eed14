"""Reminders: points.expiring once per lot N days before it expires, tier.expiring once per tier hold."""

from datetime import timedelta

import sqlalchemy as sa

from loyalty.commands.jobs import send_reminders
from loyalty.extensions import db
from loyalty.ids import new_id
from loyalty.models import ExpiryReminder, OutboxEvent, WebhookEndpoint
from loyalty.services.reminders import remind_expiring_points, remind_expiring_tiers
from tests.jobs.conftest import utc

FOURTEEN_DAYS = timedelta(days=14)


def subscribe(jobs, *events):
    with jobs.app.app_context():
        db.session.add(WebhookEndpoint(id=new_id("whe"), url="https://crm.example.com/hook", secret="s" * 32,
                                       events=list(events), created_at=utc("2026-01-01T00:00:00Z")))
        db.session.commit()
        db.session.remove()


def sent(jobs, event_type):
    with jobs.app.app_context():
        data = [e.data for e in db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.type == event_type)
                                                   .order_by(OutboxEvent.created_at, OutboxEvent.id))]
        db.session.remove()
    return data


def test_points_expiring_is_sent_once_per_lot_the_configured_days_before(api, jobs, at, db_backend):
    subscribe(jobs, "points.expiring")
    with at("2026-11-23T17:00:00Z"):
        member = api.enroll()                 # a 50-point lot expiring 2027-11-23T17:00Z
        api.purchase(member["id"], 1000)      # a 10-point lot, the same instant
    with at("2026-11-24T17:00:00Z"):
        api.purchase(member["id"], 2000)      # 20 points expiring a day later
    too_early = jobs.run(remind_expiring_points, "2027-11-09T16:59:59Z", notice=FOURTEEN_DAYS)
    assert too_early.done == 0 and sent(jobs, "points.expiring") == []
    due = jobs.run(remind_expiring_points, "2027-11-09T17:00:00Z", notice=FOURTEEN_DAYS)
    assert due.done == 2
    assert sorted(d["points"] for d in sent(jobs, "points.expiring")) == [10, 50]
    assert {d["expires_at"] for d in sent(jobs, "points.expiring")} == {"2027-11-23T17:00:00Z"}
    again = jobs.run(remind_expiring_points, "2027-11-10T17:00:00Z", notice=FOURTEEN_DAYS)
    assert again.done == 1                     # only the later lot, now inside its 14 days
    assert sorted(d["points"] for d in sent(jobs, "points.expiring")) == [10, 20, 50]
    assert jobs.run(remind_expiring_points, "2027-11-20T17:00:00Z", notice=FOURTEEN_DAYS).done == 0
    with jobs.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ExpiryReminder)) == 3
        db.session.remove()


def test_a_spent_lot_gets_no_reminder(api, jobs, at, db_backend):
    subscribe(jobs, "points.expiring")
    with at("2026-11-23T17:00:00Z"):
        member = api.enroll()
        api.purchase(member["id"], 10000)          # 50 + 100 = 150: one free drink spends both lots
        assert api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink"}).status_code == 201
    assert jobs.run(remind_expiring_points, "2027-11-20T17:00:00Z", notice=FOURTEEN_DAYS).done == 0


def test_tier_expiring_is_sent_once_per_hold(api, jobs, at, db_backend):
    subscribe(jobs, "tier.expiring")
    with at("2026-06-01T14:00:00Z"):
        member = api.enroll()
        api.purchase(member["id"], 50000)          # silver, held until 2027-06-01T14:00Z
    assert api.member(member["id"])["tier"]["id"] == "silver"
    assert jobs.run(remind_expiring_tiers, "2027-05-01T13:59:59Z", notice=timedelta(days=31)).done == 0
    assert jobs.run(remind_expiring_tiers, "2027-05-01T14:00:00Z", notice=timedelta(days=31)).done == 1
    assert jobs.run(remind_expiring_tiers, "2027-05-20T14:00:00Z", notice=timedelta(days=31)).done == 0
    [data] = sent(jobs, "tier.expiring")
    assert data == {"member_id": member["id"], "tier": "silver", "expires_at": "2027-06-01T14:00:00Z"}


def test_the_jobs_step_reads_the_notice_from_the_configuration(app, api, jobs, at, db_backend):
    subscribe(jobs, "points.expiring", "tier.expiring")
    with at("2026-11-23T17:00:00Z"):
        api.enroll()
    app.config["POINTS_EXPIRING_NOTICE_DAYS"] = 3
    assert jobs.run(send_reminders, "2027-11-20T16:59:59Z").done == 0
    assert jobs.run(send_reminders, "2027-11-20T17:00:00Z").done == 1
