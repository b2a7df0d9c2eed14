"""Streaks over the API, on SQLite and PostgreSQL: the member's state kept per event, explanations,
completions with points or a badge, webhooks, and a whole refund giving a period back."""

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.models import OutboxEvent
from tests.unit.test_engine_streaks import TEXT

NOW = "2026-11-30T17:00:00Z"  # a Monday; the demo program's days are New York's

pytestmark = pytest.mark.usefixtures("db_backend")


def subscribe(admin_api):
    created = admin_api.post("/v1/webhook-endpoints", {"url": "https://crm.example.com/hook",
                                                       "events": ["streak.completed", "badge.earned"]},
                             idempotency_key=False)
    assert created.status_code == 201, created.get_json()


def buy(api, member_id, day, category="coffee", amount=450):
    return api.purchase(member_id, amount, items=[{"sku": f"{category}-1", "category": category, "quantity": 1,
                                                   "unit_amount": amount}],
                        occurred_at=f"2026-11-{day:02d}T17:00:00Z")


def line(result, streak_id):
    return next(x for x in result["streak_explanation"] if x["streak_id"] == streak_id)


def streak(member, streak_id):
    return next(s for s in member["streaks"] if s["id"] == streak_id)


def sent(app, event_type):
    with app.app_context():
        data = [e.data for e in db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.type == event_type)
                                                   .order_by(OutboxEvent.created_at))]
        db.session.remove()
    return data


@freeze_time(NOW)
def test_three_weeks_in_a_row_award_50_points_once_and_say_so(app, api, admin_api):
    admin_api.publish_rules(TEXT, "streaks")
    subscribe(admin_api)
    member = api.enroll()
    first = buy(api, member["id"], 9)
    assert line(first, "weekly-regular") == {"streak_id": "weekly-regular", "matched": True, "current": 1, "of": 3,
                                             "completed": False, "points": 0,
                                             "reason": "Week 1 of 3 in a row on Weekly regular"}
    again = buy(api, member["id"], 13)
    assert (line(again, "weekly-regular")["matched"], line(again, "weekly-regular")["reason"]) == (
        False, "This week already counts for Weekly regular")
    second = buy(api, member["id"], 16)
    assert streak(second["member"], "weekly-regular") == {
        "id": "weekly-regular", "name": "Weekly regular",
        "description": "A purchase every week, three weeks in a row", "period": "week", "length": 3,
        "current": 2, "best": 2, "completed": 0, "grace": 1, "points": 50, "badge_id": None,
        "counted_through": "2026-11-16", "ends_after": "2026-12-06"}
    third = buy(api, member["id"], 23)
    assert line(third, "weekly-regular")["reason"] == "Weekly regular: 3 of 3 weeks in a row, complete, 50 points"
    assert {a["rule_id"]: a["points"] for a in third["awarded"]}["weekly-regular"] == 50
    shown = streak(api.member(member["id"]), "weekly-regular")
    assert (shown["current"], shown["completed"], shown["counted_through"], shown["ends_after"]) == (
        3, 1, "2026-11-23", "2026-12-13")
    [completed] = sent(app, "streak.completed")
    assert completed == {"member_id": member["id"], "streak_id": "weekly-regular", "event_id": third["event"]["id"],
                         "period": "2026-11-23", "length": 3, "completed": 1, "points": 50, "badge_id": None}
    assert api.member(member["id"])["points"]["balance"] == 50 + 4 * 8 + 50


@freeze_time(NOW)
def test_two_days_in_a_row_earn_the_regular_badge_and_its_webhook(app, api, admin_api):
    admin_api.publish_rules(TEXT, "streaks")
    subscribe(admin_api)
    member = api.enroll()
    assert line(buy(api, member["id"], 20, "pastry"), "daily-habit")["reason"] == \
        "Day 1 of 2 in a row on Daily habit"
    second = buy(api, member["id"], 21, "pastry")
    assert line(second, "daily-habit")["reason"] == "Daily habit: 2 of 2 days in a row, complete, the regular badge"
    assert [b["id"] for b in second["member"]["badges"]] == ["regular"]
    assert line(buy(api, member["id"], 22, "pastry"), "daily-habit")["reason"] == "Daily habit is already complete"
    assert [(d["badge_id"], d["source"]) for d in sent(app, "badge.earned")] == [("regular", "streak:daily-habit")]
    assert [d["streak_id"] for d in sent(app, "streak.completed")] == ["daily-habit"]


@freeze_time(NOW)
def test_a_streak_whose_deadline_passed_shows_as_broken_on_the_member(api, admin_api):
    admin_api.publish_rules(TEXT, "streaks")
    member = api.enroll()
    buy(api, member["id"], 2)  # the week of 2 November; 9 November's is grace; the week of 16 ended on the 22nd
    shown = streak(api.member(member["id"]), "weekly-regular")
    assert (shown["current"], shown["best"], shown["counted_through"], shown["ends_after"]) == (0, 1, None, None)


@freeze_time(NOW)
def test_a_whole_refund_of_a_weeks_only_purchase_takes_the_week_back(api, admin_api):
    admin_api.publish_rules(TEXT, "streaks")
    member = api.enroll()
    buy(api, member["id"], 16)
    last = buy(api, member["id"], 23)
    assert streak(api.member(member["id"]), "weekly-regular")["current"] == 2
    assert api.post(f"/v1/events/{last['event']['id']}/refunds", {"amount": 100}).status_code == 201
    assert streak(api.member(member["id"]), "weekly-regular")["current"] == 2  # a partial refund keeps it
    assert api.post(f"/v1/events/{last['event']['id']}/refunds", {"amount": 350}).status_code == 201
    shown = streak(api.member(member["id"]), "weekly-regular")
    assert (shown["current"], shown["best"], shown["counted_through"]) == (1, 1, "2026-11-16")
    again = buy(api, member["id"], 24)
    assert line(again, "weekly-regular")["reason"] == "Week 2 of 3 in a row on Weekly regular"


@freeze_time(NOW)
def test_a_refund_of_one_of_two_purchases_in_a_week_keeps_the_week(api, admin_api):
    admin_api.publish_rules(TEXT, "streaks")
    member = api.enroll()
    buy(api, member["id"], 16)
    first = buy(api, member["id"], 23)
    buy(api, member["id"], 24)
    assert api.post(f"/v1/events/{first['event']['id']}/refunds", {"amount": 450}).status_code == 201
    assert streak(api.member(member["id"]), "weekly-regular")["current"] == 2
    assert line(buy(api, member["id"], 25), "weekly-regular")["reason"] == \
        "This week already counts for Weekly regular"


@freeze_time(NOW)
def test_the_preview_and_me_show_the_streak_and_the_preview_writes_nothing(api, admin_api, app):
    admin_api.publish_rules(TEXT, "streaks")
    member = api.enroll()
    buy(api, member["id"], 23)
    body = {"type": "purchase", "member_id": member["id"], "amount": 450, "currency": "USD",
            "items": [{"sku": "c", "category": "coffee", "quantity": 1, "unit_amount": 450}],
            "occurred_at": "2026-11-30T16:00:00Z"}
    preview = api.post("/v1/events/preview", body).get_json()
    assert line(preview, "weekly-regular")["reason"] == "Week 2 of 3 in a row on Weekly regular"
    assert streak(api.member(member["id"]), "weekly-regular")["current"] == 1


@freeze_time(NOW)
def test_simulate_counts_the_streak_event_after_event(admin_api):
    admin_api.publish_rules(TEXT, "streaks")
    events = [{"type": "purchase", "amount": 450, "currency": "USD", "occurred_at": f"2026-11-{n:02d}T17:00:00Z",
               "items": [{"sku": "c", "category": "coffee", "quantity": 1, "unit_amount": 450}]}
              for n in (2, 4, 9, 23, 30)]
    response = admin_api.post("/v1/rules/simulate", {"events": events}, idempotency_key=False)
    assert response.status_code == 200, response.get_json()
    lines = [line(result, "weekly-regular") for result in response.get_json()["results"]]
    # the week of the 16th is grace; the 30th completes the third week counted
    assert [x["current"] for x in lines] == [1, None, 2, 3, 1]
    assert [x["completed"] for x in lines] == [False, False, False, True, False]
