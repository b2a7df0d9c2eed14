"""The coffee card of demo-program.md ("Stamp card", version 1.1), every figure, on SQLite and PostgreSQL.

One stamp per purchase holding a coffee item, whatever the quantity; at most one a
New York day; nine complete the card with a free-drink code at no point cost; the
next stamp starts a new card. A whole refund takes the stamp back, a partial one
keeps it; taking back the completing stamp voids an unused code (back to 8 of 9)
or, when the code was used, starts the new card at -1.
"""

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.models import CardStamp, LedgerEntry, Redemption

NOW = "2026-11-30T17:00:00Z"
LATTE = {"sku": "latte-l", "category": "coffee", "quantity": 1, "unit_amount": 450}
MUFFIN = {"sku": "muffin", "category": "pastry", "quantity": 1, "unit_amount": 450}
POINTS_PER_LATTE = 4 + 4  # spend 1/$ on $4.50 + coffee-bonus 1/$ on $4.50
WELCOME = 50

pytestmark = pytest.mark.usefixtures("db_backend")


def day(n: int) -> str:
    """Noon in New York on the n-th day of November 2026 (outside the holiday window)."""
    return f"2026-11-{n:02d}T17:00:00Z"


def latte(api, member_id, n, items=None, amount=450):
    return api.purchase(member_id, amount, items=[LATTE] if items is None else items, occurred_at=day(n))


def card(member_json) -> dict:
    [coffee] = [c for c in member_json["cards"] if c["id"] == "coffee-card"]
    return coffee


def coffee_line(result) -> dict:
    [line] = [line for line in result["card_explanation"] if line["card_id"] == "coffee-card"]
    return line


def stamps_on(api, member_id, days) -> list[dict]:
    return [latte(api, member_id, n) for n in days]


def codes(app, member_id) -> list[Redemption]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Redemption).where(Redemption.member_id == member_id)
                                  .order_by(Redemption.issued_at, Redemption.id)).all()
        db.session.expunge_all()
        db.session.remove()
    return rows


def refund(api, event_id, amount):
    response = api.post(f"/v1/events/{event_id}/refunds", {"amount": amount})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@freeze_time(NOW)
def test_a_new_member_has_an_empty_coffee_card(api):
    member = api.enroll()
    assert card(member) == {"id": "coffee-card", "name": "Coffee card", "stamps": 0, "of": 9, "completed": 0,
                            "description": "Nine coffees, and the next drink is on us", "reward_id": "free-drink",
                            "points": None}


@freeze_time(NOW)
def test_one_stamp_per_coffee_purchase_whatever_the_quantity(api):
    member = api.enroll()
    result = latte(api, member["id"], 2, items=[{**LATTE, "quantity": 3}], amount=1350)
    assert card(result["member"])["stamps"] == 1
    assert coffee_line(result) == {"card_id": "coffee-card", "matched": True, "points": 0, "stamp": 1, "of": 9,
                                   "completed": False, "reason": "Stamp 1 of 9 on the Coffee card"}
    assert "coffee-card" not in [line["rule_id"] for line in result["explanation"]]


@freeze_time(NOW)
def test_no_stamp_without_a_coffee_item(api):
    member = api.enroll()
    result = latte(api, member["id"], 2, items=[MUFFIN])
    assert card(result["member"])["stamps"] == 0
    assert result["card_explanation"] == []


@freeze_time(NOW)
def test_a_purchase_of_amount_0_gives_no_stamp(api):
    member = api.enroll()
    result = latte(api, member["id"], 2, amount=0)
    assert card(result["member"])["stamps"] == 0
    assert result["awarded"] == []  # nor points from purchase rules, its $4.50 latte item included
    assert coffee_line(result)["reason"] == "A purchase of $0.00 gives no stamp on the Coffee card (at least $0.01)"


@freeze_time(NOW)
def test_at_most_one_stamp_per_new_york_day(api):
    member = api.enroll()
    latte(api, member["id"], 2)
    second = api.purchase(member["id"], 450, items=[LATTE], occurred_at="2026-11-03T04:30:00Z")  # 23:30 on the 2nd
    assert card(second["member"])["stamps"] == 1
    assert coffee_line(second)["reason"] == "The Coffee card already has today's stamp (one a day)"
    assert second["awarded"] and sum(a["points"] for a in second["awarded"]) == POINTS_PER_LATTE
    third = api.purchase(member["id"], 450, items=[LATTE], occurred_at="2026-11-03T05:30:00Z")  # 00:30 on the 3rd
    assert card(third["member"])["stamps"] == 2


@freeze_time(NOW)
def test_stamp_7_of_9_is_explained(api):
    member = api.enroll()
    results = stamps_on(api, member["id"], range(1, 8))
    assert coffee_line(results[-1])["reason"] == "Stamp 7 of 9 on the Coffee card"
    assert card(results[-1]["member"])["stamps"] == 7


@freeze_time(NOW)
def test_nine_stamps_complete_the_card_with_a_free_drink_code_at_no_point_cost(app, api):
    member = api.enroll()
    results = stamps_on(api, member["id"], range(1, 10))
    ninth = results[-1]
    assert coffee_line(ninth)["reason"] == "Stamp 9 of 9: the Coffee card is complete and gives a free-drink code"
    assert card(ninth["member"]) | {"description": None} == {
        "id": "coffee-card", "name": "Coffee card", "stamps": 9, "of": 9, "completed": 1, "description": None,
        "reward_id": "free-drink", "points": None}
    [code] = codes(app, member["id"])
    assert (code.reward_id, code.points_spent, code.status, code.card_id) == ("free-drink", 0, "issued", "coffee-card")
    assert code.expires_at == code.issued_at + __import__("datetime").timedelta(days=30)
    points = api.member(member["id"])["points"]
    assert points["balance"] == WELCOME + 9 * POINTS_PER_LATTE == 122
    assert points["lifetime_earned"] == 122 and points["lifetime_redeemed"] == 0
    assert api.member(member["id"])["tier"]["id"] == "member"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)
                                 .where(LedgerEntry.member_id == member["id"], LedgerEntry.type == "redeem")) == 0
    looked_up = api.get(f"/v1/redemptions/{code.code}").get_json()
    assert looked_up["points_spent"] == 0 and looked_up["reward_id"] == "free-drink"


@freeze_time(NOW)
def test_the_next_stamp_starts_a_new_card(app, api):
    member = api.enroll()
    results = stamps_on(api, member["id"], range(1, 11))
    assert card(results[-1]["member"]) | {"description": None} == {
        "id": "coffee-card", "name": "Coffee card", "stamps": 1, "of": 9, "completed": 1, "description": None,
        "reward_id": "free-drink", "points": None}
    assert coffee_line(results[-1])["reason"] == "Stamp 1 of 9 on the Coffee card"
    assert len(codes(app, member["id"])) == 1
    assert len(codes(app, stamps_on(api, api.enroll()["id"], range(1, 19))[-1]["member"]["id"])) == 2


@freeze_time(NOW)
def test_a_whole_refund_takes_the_stamp_back_and_a_partial_one_keeps_it(app, api):
    member = api.enroll()
    first, second = stamps_on(api, member["id"], (1, 2))
    refund(api, first["event"]["id"], 200)
    assert card(api.member(member["id"]))["stamps"] == 2
    refund(api, second["event"]["id"], 450)
    assert card(api.member(member["id"]))["stamps"] == 1
    refund(api, first["event"]["id"], 250)  # the rest: now the whole of the first purchase is refunded
    assert card(api.member(member["id"]))["stamps"] == 0
    with app.app_context():
        statuses = db.session.execute(sa.select(CardStamp.event_id, CardStamp.status, CardStamp.once_day)
                                      .where(CardStamp.member_id == member["id"])).all()
    assert sorted((s, d) for _e, s, d in statuses) == [("taken_back", None), ("taken_back", None)]


@freeze_time(NOW)
def test_a_day_whose_stamp_was_taken_back_can_be_stamped_again(api):
    member = api.enroll()
    first = latte(api, member["id"], 2)
    refund(api, first["event"]["id"], 450)
    again = latte(api, member["id"], 2)
    assert card(again["member"])["stamps"] == 1


@freeze_time(NOW)
def test_refunding_the_completing_purchase_voids_an_unused_code_and_the_card_is_back_at_8_of_9(app, api):
    member = api.enroll()
    ninth = stamps_on(api, member["id"], range(1, 10))[-1]
    balance = api.member(member["id"])["points"]["balance"]
    answer = refund(api, ninth["event"]["id"], 450)
    assert answer["reversed_points"] == POINTS_PER_LATTE
    coffee = card(api.member(member["id"]))
    assert (coffee["stamps"], coffee["of"], coffee["completed"]) == (8, 9, 0)
    [code] = codes(app, member["id"])
    assert code.status == "voided"
    assert api.member(member["id"])["points"]["balance"] == balance - POINTS_PER_LATTE
    tenth = latte(api, member["id"], 10)
    assert card(tenth["member"])["stamps"] == 9 and card(tenth["member"])["completed"] == 1
    assert sorted(c.status for c in codes(app, member["id"])) == ["issued", "voided"]


@freeze_time(NOW)
def test_refunding_the_completing_purchase_after_the_code_was_used_starts_the_new_card_at_minus_1(app, api):
    member = api.enroll()
    ninth = stamps_on(api, member["id"], range(1, 10))[-1]
    [code] = codes(app, member["id"])
    assert api.post(f"/v1/redemptions/{code.id}/complete", {}).status_code == 200
    refund(api, ninth["event"]["id"], 450)
    coffee = card(api.member(member["id"]))
    assert (coffee["stamps"], coffee["completed"]) == (-1, 1)
    assert [c.status for c in codes(app, member["id"])] == ["completed"]
    tenth = latte(api, member["id"], 10)
    assert card(tenth["member"])["stamps"] == 0
    assert card(latte(api, member["id"], 11)["member"])["stamps"] == 1


@freeze_time(NOW)
def test_a_partial_refund_of_the_completing_purchase_keeps_the_card_complete(app, api):
    member = api.enroll()
    ninth = stamps_on(api, member["id"], range(1, 10))[-1]
    refund(api, ninth["event"]["id"], 100)
    assert card(api.member(member["id"]))["stamps"] == 9
    assert [c.status for c in codes(app, member["id"])] == ["issued"]


@freeze_time(NOW)
def test_the_card_changes_no_points(api):
    """The same purchases, with and without coffee: only the coffee bonus differs, never the card."""
    member = api.enroll()
    for n in range(1, 12):
        latte(api, member["id"], n)
    points = api.member(member["id"])["points"]
    assert (points["balance"], points["lifetime_earned"], points["lifetime_redeemed"]) == (
        WELCOME + 11 * POINTS_PER_LATTE, WELCOME + 11 * POINTS_PER_LATTE, 0)
    assert api.member(member["id"])["tier"]["qualifying_points"] == 11 * POINTS_PER_LATTE


@freeze_time(NOW)
def test_the_preview_says_which_stamp_it_would_be_and_writes_nothing(api):
    member = api.enroll()
    stamps_on(api, member["id"], range(1, 7))
    body = {"type": "purchase", "member_id": member["id"], "amount": 450, "currency": "USD",
            "items": [LATTE], "occurred_at": day(7)}
    preview = api.post("/v1/events/preview", body).get_json()
    assert coffee_line(preview)["reason"] == "Stamp 7 of 9 on the Coffee card"
    assert card(api.member(member["id"]))["stamps"] == 6


@freeze_time(NOW)
def test_the_customer_sees_the_card_on_me(app, api):
    member = api.enroll()
    stamps_on(api, member["id"], range(1, 4))
    token = api.post(f"/v1/members/{member['id']}/widget-tokens", {}).get_json()["token"]
    me = app.test_client().get("/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert card(me)["stamps"] == 3 and card(me)["of"] == 9 and card(me)["completed"] == 0


@freeze_time(NOW)
def test_a_completed_card_is_announced_by_a_card_completed_webhook(app, api, admin_api):
    from loyalty.models import OutboxEvent

    created = admin_api.post("/v1/webhook-endpoints", {"url": "https://crm.example.com/hook",
                                                       "events": ["card.completed"]}, idempotency_key=False)
    assert created.status_code == 201, created.get_json()
    member = api.enroll()
    stamps_on(api, member["id"], range(1, 10))
    [code] = codes(app, member["id"])
    with app.app_context():
        events = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.type == "card.completed")).all()
        data = [event.data for event in events]
    assert len(data) == 1
    assert data[0] | {"event_id": None, "expires_at": None} == {
        "member_id": member["id"], "card_id": "coffee-card", "event_id": None, "completed": 1,
        "reward_id": "free-drink", "redemption_id": code.id, "code": code.code, "points": None, "expires_at": None}


@freeze_time(NOW)
def test_simulate_stamps_the_card_event_after_event(admin_api):
    events = [{"type": "purchase", "amount": 450, "currency": "USD", "items": [LATTE], "occurred_at": day(n)}
              for n in (1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 10)]
    response = admin_api.post("/v1/rules/simulate", {"events": events}, idempotency_key=False)
    assert response.status_code == 200, response.get_json()
    lines = [result["card_explanation"][0] for result in response.get_json()["results"]]
    assert [line["stamp"] for line in lines] == [1, 2, None, 3, 4, 5, 6, 7, 8, 9, 1]
    assert lines[2]["reason"] == "The Coffee card already has today's stamp (one a day)"
    assert [line["completed"] for line in lines].count(True) == 1


@freeze_time(NOW)
def test_a_batch_stamps_as_events_posted_alone_do(app, api):
    """Eleven lattes in one batch, two of them on one day: ten stamps, one completed card, one code."""
    member = api.enroll()
    events = [{"type": "purchase", "member_id": member["id"], "amount": 450, "currency": "USD",
               "items": [LATTE], "source_id": f"batch-latte-{n}", "occurred_at": day(n)} for n in range(1, 11)]
    events.append({**events[4], "source_id": "batch-latte-5-again", "occurred_at": "2026-11-05T20:00:00Z"})
    results = api.post("/v1/events/batch", {"events": events}).get_json()["results"]
    assert [result["status"] for result in results] == [201] * 11
    assert [coffee_line(result)["stamp"] for result in results[:9]] == list(range(1, 10))
    assert coffee_line(results[10])["reason"] == "The Coffee card already has today's stamp (one a day)"
    after = api.get(f"/v1/members/{member['id']}").get_json()
    assert (card(after)["stamps"], card(after)["completed"]) == (1, 1)
    assert [code.reward_id for code in codes(app, member["id"])] == ["free-drink"]
    assert after["points"]["balance"] == WELCOME + 11 * POINTS_PER_LATTE
