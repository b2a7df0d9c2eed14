"""Challenges and badges over the API, on SQLite and PostgreSQL: progress kept per event, completions once,
badges, webhooks, refunds taking progress back."""

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.models import OutboxEvent
from tests.unit.test_engine_challenges import TEXT

NOW = "2026-11-30T17:00:00Z"

pytestmark = pytest.mark.usefixtures("db_backend")


def publish(admin_api):
    admin_api.publish_rules(TEXT, "challenges")


def subscribe(admin_api):
    created = admin_api.post("/v1/webhook-endpoints", {"url": "https://crm.example.com/hook",
                                                       "events": ["challenge.completed", "badge.earned"]},
                             idempotency_key=False)
    assert created.status_code == 201, created.get_json()


def buy(api, member_id, category, day, amount=450):
    return api.purchase(member_id, amount, items=[{"sku": f"{category}-1", "category": category, "quantity": 1,
                                                   "unit_amount": amount}],
                        occurred_at=f"2026-11-{day:02d}T17:00:00Z")


def line(result, challenge_id):
    return next(x for x in result["challenge_explanation"] if x["challenge_id"] == challenge_id)


def challenge(member, challenge_id):
    return next(c for c in member["challenges"] if c["id"] == challenge_id)


def sent(app, event_type):
    with app.app_context():
        data = [e.data for e in db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.type == event_type))]
        db.session.remove()
    return data


@freeze_time(NOW)
def test_three_categories_in_a_month_earn_the_explorer_badge_once(app, api, admin_api):
    publish(admin_api)
    subscribe(admin_api)
    member = api.enroll()
    first = buy(api, member["id"], "coffee", 2)
    assert line(first, "three-kinds")["reason"] == "1 of 3 categories this month"
    second = buy(api, member["id"], "tea", 3)
    assert (line(second, "three-kinds")["progress"], line(second, "three-kinds")["of"]) == (2, 3)
    assert line(second, "three-kinds")["reason"] == "2 of 3 categories this month"
    assert challenge(second["member"], "three-kinds") | {"description": None} == {
        "id": "three-kinds", "name": "Three kinds a month", "description": None, "goal": "distinct_categories",
        "progress": 2, "of": 3, "period": "calendar_month", "days": None, "completed": 0, "done": False,
        "points": None, "badge_id": "explorer"}
    third = buy(api, member["id"], "pastry", 4)
    assert line(third, "three-kinds")["completed"] is True
    assert third["member"]["badges"][0] | {"earned_at": None} == {
        "id": "explorer", "name": "Explorer", "image": "https://example.com/badges/explorer.png", "earned_at": None}
    assert challenge(third["member"], "three-kinds")["completed"] == 1
    fourth = buy(api, member["id"], "juice", 5)
    assert line(fourth, "three-kinds")["matched"] is False
    assert len(api.member(member["id"])["badges"]) == 1
    assert [d["challenge_id"] for d in sent(app, "challenge.completed")].count("three-kinds") == 1
    assert [(d["member_id"], d["badge_id"]) for d in sent(app, "badge.earned")] == [(member["id"], "explorer")]


@freeze_time(NOW)
def test_three_visits_in_seven_days_award_30_points_and_start_again(api, admin_api):
    publish(admin_api)
    member = api.enroll()
    for day in (10, 12):
        buy(api, member["id"], "coffee", day)
    third = buy(api, member["id"], "coffee", 14)
    assert {a["rule_id"]: a["points"] for a in third["awarded"]}["regular"] == 30
    assert line(third, "regular")["reason"] == \
        "3 of 3 purchases in the last 7 days: Three visits a week complete, 30 points"
    fourth = buy(api, member["id"], "coffee", 15)
    assert line(fourth, "regular")["reason"] == "1 of 3 purchases in the last 7 days"
    balance = api.member(member["id"])["points"]["balance"]
    assert balance == 50 + 4 * 8 + 30


@freeze_time(NOW)
def test_a_whole_refund_takes_back_the_progress_its_purchase_gave(api, admin_api):
    publish(admin_api)
    member = api.enroll()
    buy(api, member["id"], "coffee", 2)
    tea = buy(api, member["id"], "tea", 3)
    assert challenge(api.member(member["id"]), "three-kinds")["progress"] == 2
    partial = api.post(f"/v1/events/{tea['event']['id']}/refunds", {"amount": 100})
    assert partial.status_code == 201
    assert challenge(api.member(member["id"]), "three-kinds")["progress"] == 2
    whole = api.post(f"/v1/events/{tea['event']['id']}/refunds", {"amount": 350})
    assert whole.status_code == 201
    assert challenge(api.member(member["id"]), "three-kinds")["progress"] == 1


@freeze_time(NOW)
def test_the_preview_shows_the_challenge_progress_and_writes_nothing(api, admin_api):
    publish(admin_api)
    member = api.enroll()
    buy(api, member["id"], "coffee", 2)
    body = {"type": "purchase", "member_id": member["id"], "amount": 450, "currency": "USD",
            "items": [{"sku": "t", "category": "tea", "quantity": 1, "unit_amount": 450}],
            "occurred_at": "2026-11-03T17:00:00Z"}
    preview = api.post("/v1/events/preview", body).get_json()
    assert line(preview, "three-kinds")["reason"] == "2 of 3 categories this month"
    assert challenge(api.member(member["id"]), "three-kinds")["progress"] == 1
