"""Every figure of the demo program (docs/demo-program.md), through the HTTP API.

Times are frozen: "now" is chosen per test and the program's calendar is
America/New_York (EST = UTC-5, EDT = UTC-4).
"""

import uuid

import pytest
from freezegun import freeze_time

from tests.conftest import awarded_by_rule

PURCHASE_RULES = ["spend", "coffee-bonus", "holiday-double", "referral"]


# --------------------------------------------------------------------------- helpers


def coffee(quantity: int, unit_amount: int, sku: str = "latte-l") -> dict:
    return {"sku": sku, "category": "coffee", "quantity": quantity, "unit_amount": unit_amount}


def pastry(quantity: int, unit_amount: int) -> dict:
    return {"sku": "croissant", "category": "bakery", "quantity": quantity, "unit_amount": unit_amount}


def purchase_body(member_id: str, amount: int, items=None, occurred_at=None) -> dict:
    body = {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD",
            "source_id": uuid.uuid4().hex}
    if items is not None:
        body["items"] = items
    if occurred_at is not None:
        body["occurred_at"] = occurred_at
    return body


def explained(result: dict) -> dict[str, dict]:
    return {line["rule_id"]: line for line in result["explanation"]}


def awards_to(result: dict, member_id: str) -> dict[str, int]:
    return {a["rule_id"]: a["points"] for a in result["awarded"] if a["member_id"] == member_id}


def ledger(api, member_id: str, **query) -> list[dict]:
    params = "&".join(f"{k}={v}" for k, v in {"limit": 100, **query}.items())
    response = api.get(f"/v1/members/{member_id}/transactions?{params}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["next_cursor"] is None
    return body["data"]


def earned(api, member_id: str, rule_id: str) -> list[int]:
    return [t["points"] for t in ledger(api, member_id) if t["rule_id"] == rule_id]


def balance(api, member_id: str) -> int:
    return api.member(member_id)["points"]["balance"]


def refund(api, event_id: str, amount: int):
    return api.post(f"/v1/events/{event_id}/refunds", {"amount": amount})


def reach_qualifying(api, member_id: str, dollars: int) -> dict:
    """A base-tier member makes one purchase worth ``dollars`` spend points."""
    return api.purchase(member_id, dollars * 100)


# --------------------------------------------------------------------------- spend


@freeze_time("2026-11-10T15:00:00Z")
@pytest.mark.parametrize(("amount", "points"), [(100, 1), (1250, 12), (1999, 19), (123456, 1234)])
def test_member_earns_1_point_per_whole_dollar(api, amount, points):
    member = api.enroll()
    result = api.purchase(member["id"], amount)
    assert awarded_by_rule(result) == {"spend": points}
    assert result["member"]["points"]["balance"] == 50 + points


@freeze_time("2026-11-10T15:00:00Z")
def test_purchase_under_one_dollar_earns_nothing(api):
    member = api.enroll()
    result = api.purchase(member["id"], 99)
    assert result["awarded"] == []
    assert explained(result)["spend"]["points"] == 0
    assert result["member"]["points"]["balance"] == 50


# --------------------------------------------------------------------------- coffee-bonus


@freeze_time("2026-11-10T15:00:00Z")
def test_coffee_bonus_is_1_point_per_dollar_of_coffee_items(api):
    member = api.enroll()
    # coffee: 2 × $4.50 + 3 × $1.99 = $14.97 → 14; the $6.00 of pastries earn no bonus
    items = [coffee(2, 450), pastry(2, 300), coffee(3, 199, sku="espresso")]
    result = api.purchase(member["id"], 2097, items=items)
    assert awarded_by_rule(result) == {"spend": 20, "coffee-bonus": 14}
    assert "$14.97 of coffee items" in explained(result)["coffee-bonus"]["reason"]
    assert result["member"]["points"]["balance"] == 50 + 34


@freeze_time("2026-11-10T15:00:00Z")
def test_no_coffee_bonus_without_coffee_items(api):
    member = api.enroll()
    result = api.purchase(member["id"], 1200, items=[pastry(4, 300)])
    assert awarded_by_rule(result) == {"spend": 12}
    line = explained(result)["coffee-bonus"]
    assert (line["matched"], line["points"]) == (False, 0)
    assert "No items in category coffee" in line["reason"]


# --------------------------------------------------------------------------- holiday-double


@freeze_time("2026-12-27T12:00:00Z")
@pytest.mark.parametrize(("occurred_at", "bonus"), [
    ("2026-12-20T04:59:59Z", None),  # 19 Dec 23:59:59 in New York
    ("2026-12-20T05:00:00Z", 10),    # 20 Dec 00:00:00 in New York
    ("2026-12-27T04:59:59Z", 10),    # 26 Dec 23:59:59 in New York
    ("2026-12-27T05:00:00Z", None),  # 27 Dec 00:00:00 in New York
])
def test_holiday_double_runs_20_to_26_december_new_york_time(api, occurred_at, bonus):
    member = api.enroll()
    result = api.purchase(member["id"], 1000, occurred_at=occurred_at)
    expected = {"spend": 10} if bonus is None else {"spend": 10, "holiday-double": bonus}
    assert awarded_by_rule(result) == expected
    line = explained(result)["holiday-double"]
    assert line["matched"] is (bonus is not None)
    if bonus is None:
        assert "Only from 2026-12-20 to 2026-12-26 (America/New_York)" in line["reason"]


@freeze_time("2026-12-22T17:00:00Z")
def test_holiday_double_adds_to_spend_and_coffee(api):
    member = api.enroll()
    result = api.purchase(member["id"], 1250, items=[coffee(2, 450)])
    assert awarded_by_rule(result) == {"spend": 12, "coffee-bonus": 9, "holiday-double": 12}
    assert result["member"]["points"]["balance"] == 50 + 33


# --------------------------------------------------------------------------- daily cap


@freeze_time("2026-12-22T17:00:00Z")
def test_daily_cap_of_2000_trims_later_rules_first(api, db_backend):
    member = api.enroll()
    # spend 1,200 + coffee 300 + holiday 1,200 = 2,700 → holiday-double trimmed to 500
    result = api.purchase(member["id"], 120_000, items=[coffee(3, 10_000)])
    assert awarded_by_rule(result) == {"spend": 1200, "coffee-bonus": 300, "holiday-double": 500}
    reason = explained(result)["holiday-double"]["reason"]
    assert "cap of 2,000 points" in reason
    assert "1,500 already earned today, 500 awarded of 1,200" in reason
    assert "cap" not in explained(result)["spend"]["reason"]
    assert result["member"]["points"]["balance"] == 50 + 2000


@freeze_time("2026-11-10T15:00:00Z")
def test_daily_cap_trims_coffee_bonus_after_spend(api, db_backend):
    member = api.enroll()
    result = api.purchase(member["id"], 150_000, items=[coffee(10, 10_000)])
    assert awarded_by_rule(result) == {"spend": 1500, "coffee-bonus": 500}
    assert "500 awarded of 1,000" in explained(result)["coffee-bonus"]["reason"]


@freeze_time("2026-11-11T06:00:00Z")
def test_daily_cap_counts_across_purchases_of_one_new_york_day_and_resets_the_next(api, db_backend):
    member = api.enroll()
    first = api.purchase(member["id"], 100_000, occurred_at="2026-11-10T15:00:00Z")
    assert awarded_by_rule(first) == {"spend": 1000}
    assert first["member"]["tier"]["id"] == "silver"

    second = api.purchase(member["id"], 80_000, occurred_at="2026-11-10T20:00:00Z")
    assert awarded_by_rule(second) == {"spend": 1000}  # $800 × 1.25: exactly what the cap had left
    assert second["member"]["tier"]["id"] == "gold"

    # 23:30 on 10 November in New York (already 11 November in UTC): the cap is used up
    third = api.purchase(member["id"], 10_000, occurred_at="2026-11-11T04:30:00Z")
    assert third["awarded"] == []
    line = explained(third)["spend"]
    assert (line["matched"], line["points"]) == (True, 0)
    assert "cap of 2,000 points" in line["reason"]
    assert "2,000 already earned today, 0 awarded of 150" in line["reason"]

    # midnight in New York: a new day, a new cap
    fourth = api.purchase(member["id"], 10_000, occurred_at="2026-11-11T05:00:00Z")
    assert awarded_by_rule(fourth) == {"spend": 150}
    assert balance(api, member["id"]) == 50 + 2000 + 150


# --------------------------------------------------------------------------- welcome, email-signup


@freeze_time("2026-11-10T15:00:00Z")
def test_welcome_50_on_enrolment_once(api):
    member = api.enroll(email="ana@example.com")
    assert member["points"]["balance"] == 50
    assert [(t["type"], t["rule_id"], t["points"]) for t in ledger(api, member["id"])] == [
        ("earn", "welcome", 50)]

    again = api.action(member["id"], "enrolled")
    assert again["awarded"] == []
    assert explained(again)["welcome"]["reason"] == "Already awarded once for this member"
    assert balance(api, member["id"]) == 50


@freeze_time("2026-11-10T15:00:00Z")
def test_email_signup_100_on_enrolment_with_opt_in(api):
    member = api.enroll(email="ana@example.com", email_opt_in=True)
    assert member["points"]["balance"] == 150
    assert earned(api, member["id"], "email-signup") == [100]


@freeze_time("2026-11-10T15:00:00Z")
def test_email_signup_100_when_opting_in_later_and_only_once_ever(api):
    member = api.enroll(email="ana@example.com")
    assert member["points"]["balance"] == 50

    opted_in = api.patch(f"/v1/members/{member['id']}", {"email_opt_in": True})
    assert opted_in.status_code == 200
    assert opted_in.get_json()["points"]["balance"] == 150

    for opt_in in (False, True, False, True):
        response = api.patch(f"/v1/members/{member['id']}", {"email_opt_in": opt_in})
        assert response.status_code == 200
        assert response.get_json()["email_opt_in"] is opt_in
        assert response.get_json()["points"]["balance"] == 150

    direct = api.action(member["id"], "email_signup")
    assert direct["awarded"] == []
    assert earned(api, member["id"], "email-signup") == [100]
    assert balance(api, member["id"]) == 150


@freeze_time("2026-11-10T15:00:00Z")
def test_email_signup_not_repeated_when_enrolled_with_opt_in_then_toggled(api):
    member = api.enroll(email="ana@example.com", email_opt_in=True)
    api.patch(f"/v1/members/{member['id']}", {"email_opt_in": False})
    response = api.patch(f"/v1/members/{member['id']}", {"email_opt_in": True})
    assert response.get_json()["points"]["balance"] == 150
    assert earned(api, member["id"], "email-signup") == [100]


# --------------------------------------------------------------------------- birthday, review


def test_birthday_200_once_per_new_york_calendar_year(api):
    with freeze_time("2026-12-31T12:00:00Z") as frozen:
        member = api.enroll(birthday="1990-12-31")
        assert awarded_by_rule(api.action(member["id"], "birthday")) == {"birthday": 200}
        second = api.action(member["id"], "birthday")
        assert second["awarded"] == []
        assert explained(second)["birthday"]["reason"] == "Limit of 1 per calendar year reached"

        frozen.move_to("2027-01-01T04:59:59Z")  # still 31 December 2026 in New York
        assert api.action(member["id"], "birthday")["awarded"] == []

        frozen.move_to("2027-01-01T05:00:00Z")  # 1 January 2027 in New York
        assert awarded_by_rule(api.action(member["id"], "birthday")) == {"birthday": 200}
        assert earned(api, member["id"], "birthday") == [200, 200]
        assert balance(api, member["id"]) == 50 + 400


def test_review_25_at_most_3_per_new_york_calendar_month(api):
    with freeze_time("2026-11-30T12:00:00Z") as frozen:
        member = api.enroll()
        points = [awarded_by_rule(api.action(member["id"], "review", stars=5)).get("review", 0)
                  for _ in range(4)]
        assert points == [25, 25, 25, 0]
        last = api.action(member["id"], "review")
        assert explained(last)["review"]["reason"] == "Limit of 3 per calendar month reached"

        frozen.move_to("2026-12-01T04:59:59Z")  # still 30 November in New York
        assert api.action(member["id"], "review")["awarded"] == []

        frozen.move_to("2026-12-01T05:00:00Z")  # 1 December in New York
        assert awarded_by_rule(api.action(member["id"], "review")) == {"review": 25}
        assert balance(api, member["id"]) == 50 + 4 * 25


# --------------------------------------------------------------------------- tiers


@freeze_time("2026-11-10T15:00:00Z")
def test_new_member_needs_500_qualifying_points_for_silver(api):
    member = api.enroll(email_opt_in=True, email="ana@example.com")
    assert member["tier"]["id"] == "member"
    assert member["tier"]["multiplier"] == 1.0
    assert member["tier"]["next"] == {"id": "silver", "name": "Silver", "points_needed": 500}

    result = api.purchase(member["id"], 12_000)
    assert result["member"]["tier"]["next"]["points_needed"] == 380


@freeze_time("2026-11-10T15:00:00Z")
def test_bonuses_and_adjustments_do_not_qualify_for_tiers(api, admin_api):
    member = api.enroll(email_opt_in=True, email="ana@example.com")
    api.action(member["id"], "birthday")
    adjusted = admin_api.post(f"/v1/members/{member['id']}/adjustments",
                              {"points": 2000, "reason": "goodwill"})
    assert adjusted.status_code == 201
    view = api.member(member["id"])
    assert view["points"]["balance"] == 50 + 100 + 200 + 2000
    assert view["tier"]["id"] == "member"
    assert view["tier"]["next"]["points_needed"] == 500


@freeze_time("2026-11-10T15:00:00Z")
def test_purchase_crossing_500_earns_at_1_0_and_the_next_at_1_25(api):
    member = api.enroll()
    api.purchase(member["id"], 49_900)

    crossing = api.purchase(member["id"], 1120)
    assert awarded_by_rule(crossing) == {"spend": 11}  # $11.20 at the member tier's 1.0
    assert crossing["member"]["tier"]["id"] == "silver"
    assert crossing["member"]["tier"]["name"] == "Silver"
    assert crossing["member"]["tier"]["multiplier"] == 1.25
    assert crossing["member"]["tier"]["next"] == {"id": "gold", "name": "Gold", "points_needed": 990}

    after = api.purchase(member["id"], 1120)
    assert awarded_by_rule(after) == {"spend": 14}  # floor(11.20 × 1.25) = 14, not 13
    assert "× 1.25 Silver multiplier" in explained(after)["spend"]["reason"]
    assert after["member"]["tier"]["next"]["points_needed"] == 1500 - 524


@freeze_time("2026-11-10T15:00:00Z")
def test_silver_member_earns_1_25_per_dollar_on_every_purchase_rule(api):
    member = api.enroll()
    reach_qualifying(api, member["id"], 500)
    result = api.purchase(member["id"], 1250, items=[coffee(2, 450)])
    # spend floor(12.50 × 1.25) = 15, coffee floor(9.00 × 1.25) = 11
    assert awarded_by_rule(result) == {"spend": 15, "coffee-bonus": 11}


@freeze_time("2026-11-10T15:00:00Z")
def test_gold_member_earns_1_5_per_dollar(api):
    member = api.enroll()
    to_silver = reach_qualifying(api, member["id"], 1200)
    assert to_silver["member"]["tier"]["id"] == "silver"
    to_gold = api.purchase(member["id"], 24_000)
    assert awarded_by_rule(to_gold) == {"spend": 300}  # $240 × 1.25
    assert to_gold["member"]["tier"]["id"] == "gold"
    assert to_gold["member"]["tier"]["multiplier"] == 1.5
    assert to_gold["member"]["tier"]["next"] is None

    result = api.purchase(member["id"], 1120)
    assert awarded_by_rule(result) == {"spend": 16}  # floor(11.20 × 1.5)
    assert "× 1.5 Gold multiplier" in explained(result)["spend"]["reason"]


@freeze_time("2026-11-10T15:00:00Z")
def test_refund_never_takes_the_tier_away_early(api, db_backend):
    member = api.enroll()
    crossing = reach_qualifying(api, member["id"], 600)
    assert crossing["member"]["tier"]["id"] == "silver"
    response = refund(api, crossing["event"]["id"], 60_000)
    assert response.status_code == 201
    view = response.get_json()["member"]
    assert view["tier"]["id"] == "silver"
    assert view["tier"]["next"]["points_needed"] == 1500


# --------------------------------------------------------------------------- referral


@freeze_time("2026-11-10T15:00:00Z")
def test_referred_first_purchase_of_10_dollars_gives_referrer_500_and_member_250(api, db_backend):
    ana = api.enroll(email="ana@example.com")
    ben = api.enroll(email="ben@example.com", referred_by=ana["referral_code"])
    assert ben["referred_by_member_id"] == ana["id"]

    result = api.purchase(ben["id"], 1000)
    assert awards_to(result, ben["id"]) == {"spend": 10, "referral": 250}
    assert awards_to(result, ana["id"]) == {"referral": 500}
    line = explained(result)["referral"]
    assert (line["matched"], line["points"]) == (True, 750)
    assert "250 points for this member" in line["reason"]
    assert f"500 points for the referrer {ana['id']}" in line["reason"]

    assert result["member"]["points"]["balance"] == 50 + 10 + 250
    assert balance(api, ana["id"]) == 50 + 500
    assert earned(api, ana["id"], "referral") == [500]
    # the event's page finds the referrer's lot too (lots are found by member, not by event)
    detail = api.get(f"/v1/events/{result['event']['id']}").get_json()
    assert sorted((a["member_id"], a["rule_id"], a["points"]) for a in detail["awarded"]) == sorted(
        (a["member_id"], a["rule_id"], a["points"]) for a in result["awarded"])
    assert {a["member_id"] for a in detail["awarded"]} == {ana["id"], ben["id"]}
    # referral points are not tier-qualifying
    assert result["member"]["tier"]["qualifying_points"] == 10


@freeze_time("2026-11-10T15:00:00Z")
def test_referral_waits_for_a_purchase_of_at_least_10_dollars_and_pays_once(api, db_backend):
    ana = api.enroll()
    ben = api.enroll(referred_by=ana["referral_code"].lower())

    small = api.purchase(ben["id"], 999)
    assert awarded_by_rule(small) == {"spend": 9}
    line = explained(small)["referral"]
    assert (line["matched"], line["points"]) == (False, 0)
    assert "Condition not met: amount must be at least $10.00 (was $9.99)" in line["reason"]

    enough = api.purchase(ben["id"], 1000)
    assert awards_to(enough, ben["id"]) == {"spend": 10, "referral": 250}
    assert awards_to(enough, ana["id"]) == {"referral": 500}

    again = api.purchase(ben["id"], 5000)
    assert awarded_by_rule(again) == {"spend": 50}
    assert explained(again)["referral"]["reason"] == "Already awarded once for this member"
    assert balance(api, ana["id"]) == 550
    assert balance(api, ben["id"]) == 50 + 9 + 10 + 250 + 50


def test_referrer_earns_at_most_5_referrals_per_calendar_year(api, db_backend):
    with freeze_time("2026-12-31T12:00:00Z") as frozen:
        ana = api.enroll()
        for n in range(6):
            friend = api.enroll(referred_by=ana["referral_code"])
            result = api.purchase(friend["id"], 1000)
            assert awards_to(result, friend["id"]) == {"spend": 10, "referral": 250}
            assert awards_to(result, ana["id"]) == ({"referral": 500} if n < 5 else {})
        assert "referrer's cap of 5 referrals per calendar year is reached" in \
            explained(result)["referral"]["reason"]
        assert balance(api, ana["id"]) == 50 + 5 * 500

        frozen.move_to("2027-01-01T05:00:00Z")  # a new calendar year in New York
        friend = api.enroll(referred_by=ana["referral_code"])
        result = api.purchase(friend["id"], 1000)
        assert awards_to(result, ana["id"]) == {"referral": 500}
        assert balance(api, ana["id"]) == 50 + 6 * 500


@freeze_time("2026-11-10T15:00:00Z")
def test_no_referral_when_both_share_an_email_case_insensitively(api, db_backend):
    ana = api.enroll(email="Ana@Example.com")
    twin = api.enroll(email="ana@EXAMPLE.com", referred_by=ana["referral_code"])
    result = api.purchase(twin["id"], 5000)
    assert awarded_by_rule(result) == {"spend": 50}
    line = explained(result)["referral"]
    assert (line["matched"], line["points"]) == (False, 0)
    assert "share an email" in line["reason"]
    assert balance(api, ana["id"]) == 50


# --------------------------------------------------------------------------- zero amount


@freeze_time("2026-11-10T15:00:00Z")
def test_zero_amount_purchase_earns_nothing_and_is_recorded(api):
    member = api.enroll()
    result = api.purchase(member["id"], 0, items=[coffee(1, 0)])
    assert result["awarded"] == []
    assert [line["rule_id"] for line in result["explanation"]] == PURCHASE_RULES
    assert all(line["points"] == 0 for line in result["explanation"])
    assert result["member"]["points"]["balance"] == 50
    assert result["member"]["lifecycle_stage"] == "first_purchase"

    stored = api.get(f"/v1/events/{result['event']['id']}")
    assert stored.status_code == 200
    assert stored.get_json()["amount"] == 0
    assert stored.get_json()["awarded"] == []
    assert len(ledger(api, member["id"])) == 1


# --------------------------------------------------------------------------- refunds


@freeze_time("2026-11-10T15:00:00Z")
def test_partial_refunds_then_full_reverse_exactly_the_purchase_points(api, db_backend):
    member = api.enroll()
    sale = api.purchase(member["id"], 1250, items=[coffee(2, 450)])
    assert awarded_by_rule(sale) == {"spend": 12, "coffee-bonus": 9}  # P = 21
    event_id = sale["event"]["id"]

    reversed_points = []
    for amount, total_after in [(333, 5), (333, 11), (584, 21)]:  # floor(21 × r / 1250)
        response = refund(api, event_id, amount)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["event_id"] == event_id
        assert body["amount"] == amount
        reversed_points.append(body["reversed_points"])
        assert sum(reversed_points) == total_after
        assert body["member"]["points"]["balance"] == 50 + 21 - total_after
    assert reversed_points == [5, 6, 10]

    reversals = ledger(api, member["id"], type="reverse")
    assert [t["points"] for t in reversals] == [-10, -6, -5]
    assert {t["event_id"] for t in reversals} == {event_id}
    assert balance(api, member["id"]) == 50

    stored = api.get(f"/v1/events/{event_id}").get_json()
    assert (stored["refunded_amount"], stored["reversed_points"]) == (1250, 21)


@freeze_time("2026-11-10T15:00:00Z")
def test_refund_of_more_than_was_paid_is_invalid_state(api, db_backend):
    member = api.enroll()
    sale = api.purchase(member["id"], 1000)
    too_much = refund(api, sale["event"]["id"], 1001)
    assert too_much.status_code == 409
    assert too_much.get_json()["error"]["code"] == "invalid_state"

    assert refund(api, sale["event"]["id"], 600).status_code == 201
    over = refund(api, sale["event"]["id"], 401)
    assert over.status_code == 409
    assert over.get_json()["error"]["code"] == "invalid_state"
    assert over.get_json()["error"]["details"] == {"paid": 1000, "refunded": 600, "requested": 401}
    assert balance(api, member["id"]) == 50 + 10 - 6
    assert len(ledger(api, member["id"], type="reverse")) == 1


@freeze_time("2026-11-10T15:00:00Z")
def test_refund_leaves_the_referral_bonus(api, db_backend):
    ana = api.enroll()
    ben = api.enroll(referred_by=ana["referral_code"])
    sale = api.purchase(ben["id"], 2000)
    assert awards_to(sale, ben["id"]) == {"spend": 20, "referral": 250}

    response = refund(api, sale["event"]["id"], 2000)
    assert response.status_code == 201
    assert response.get_json()["reversed_points"] == 20
    assert response.get_json()["member"]["points"]["balance"] == 50 + 250
    assert balance(api, ana["id"]) == 50 + 500


@freeze_time("2026-11-10T15:00:00Z")
def test_refund_of_spent_points_leaves_a_negative_balance(api, admin_api, db_backend):
    member = api.enroll()
    sale = api.purchase(member["id"], 10_000)
    spent = admin_api.post(f"/v1/members/{member['id']}/adjustments",
                           {"points": -150, "reason": "points spent in store"})
    assert spent.status_code == 201
    assert spent.get_json()["member"]["points"]["balance"] == 0

    response = refund(api, sale["event"]["id"], 10_000)
    assert response.status_code == 201
    assert response.get_json()["reversed_points"] == 100
    assert response.get_json()["member"]["points"]["balance"] == -100
    assert balance(api, member["id"]) == -100
    assert sum(t["points"] for t in ledger(api, member["id"])) == -100


# --------------------------------------------------------------------------- lifecycle


def test_lifecycle_enrolled_first_purchase_repeat_advocate_lapsing_lapsed(api):
    with freeze_time("2026-11-10T15:00:00Z") as frozen:
        ana = api.enroll()
        assert ana["lifecycle_stage"] == "enrolled"
        assert api.purchase(ana["id"], 500)["member"]["lifecycle_stage"] == "first_purchase"
        assert api.purchase(ana["id"], 500)["member"]["lifecycle_stage"] == "repeat"

        ben = api.enroll(referred_by=ana["referral_code"])
        small = api.purchase(ben["id"], 500)  # under $10: no referral bonus yet
        assert small["member"]["lifecycle_stage"] == "first_purchase"
        assert api.member(ana["id"])["lifecycle_stage"] == "repeat"
        api.purchase(ben["id"], 1000)
        assert api.member(ana["id"])["lifecycle_stage"] == "advocate"
        assert api.member(ben["id"])["lifecycle_stage"] == "repeat"

        frozen.move_to("2027-02-09T15:00:00Z")  # 91 days after the last purchase
        assert api.member(ana["id"])["lifecycle_stage"] == "lapsing"
        frozen.move_to("2027-05-09T15:00:00Z")  # 180 days
        assert api.member(ana["id"])["lifecycle_stage"] == "lapsing"
        frozen.move_to("2027-05-10T15:00:00Z")  # 181 days
        assert api.member(ana["id"])["lifecycle_stage"] == "lapsed"
        assert api.member(ben["id"])["lifecycle_stage"] == "lapsed"


def test_a_new_purchase_brings_a_lapsing_member_back_to_repeat(api):
    with freeze_time("2026-09-01T15:00:00Z") as frozen:
        member = api.enroll()
        api.purchase(member["id"], 500)
        frozen.move_to("2026-12-15T15:00:00Z")
        assert api.member(member["id"])["lifecycle_stage"] == "lapsing"
        assert api.purchase(member["id"], 500)["member"]["lifecycle_stage"] == "repeat"


# --------------------------------------------------------------------------- explanation


@freeze_time("2026-11-10T15:00:00Z")
def test_explanation_has_one_entry_per_rule_listening_to_the_event_type(api):
    member = api.enroll()
    result = api.purchase(member["id"], 1250, items=[coffee(2, 450)])
    assert [line["rule_id"] for line in result["explanation"]] == PURCHASE_RULES
    lines = explained(result)
    assert lines["spend"] == {"rule_id": "spend", "matched": True, "points": 12,
                              "reason": "1 point per $1 on $12.50 = 12 points"}
    assert lines["coffee-bonus"]["points"] == 9
    assert "this purchase was on 2026-11-10" in lines["holiday-double"]["reason"]
    assert lines["referral"]["reason"] == "Member did not enrol with a referral code"

    review = api.action(member["id"], "review")
    assert [line["rule_id"] for line in review["explanation"]] == ["review"]
    birthday = api.action(member["id"], "birthday")
    assert [line["rule_id"] for line in birthday["explanation"]] == ["birthday"]
    enrolled = api.action(member["id"], "enrolled")
    assert [line["rule_id"] for line in enrolled["explanation"]] == ["welcome"]


@freeze_time("2026-11-10T15:00:00Z")
def test_action_the_program_does_not_name_is_refused(api):
    member = api.enroll()
    # `visit` is not an action of the demo program
    response = api.post("/v1/events", {"type": "visit", "member_id": member["id"]})
    assert response.status_code == 422
    assert "type" in response.get_json()["error"]["details"]["fields"]


# --------------------------------------------------------------------------- preview, stored event


@freeze_time("2026-11-10T15:00:00Z")
def test_preview_returns_the_awards_of_the_real_post_and_writes_nothing(api):
    member = api.enroll()
    reach_qualifying(api, member["id"], 500)  # silver
    before = api.member(member["id"])
    entries_before = ledger(api, member["id"])

    body = purchase_body(member["id"], 1250, items=[coffee(2, 450)], occurred_at="2026-11-10T14:00:00Z")
    preview = api.post("/v1/events/preview", body)
    assert preview.status_code == 200
    preview = preview.get_json()
    assert set(preview) == {"awarded", "explanation", "card_explanation", "challenge_explanation",
                            "streak_explanation"}
    assert awarded_by_rule(preview) == {"spend": 15, "coffee-bonus": 11}

    assert api.member(member["id"]) == before
    assert ledger(api, member["id"]) == entries_before

    posted = api.post("/v1/events", body).get_json()
    assert posted["awarded"] == preview["awarded"]
    assert posted["explanation"] == preview["explanation"]
    assert posted["card_explanation"] == preview["card_explanation"]


@freeze_time("2026-11-10T15:00:00Z")
def test_preview_shows_the_referrer_award_and_writes_nothing(api, db_backend):
    ana = api.enroll()
    ben = api.enroll(referred_by=ana["referral_code"])
    body = purchase_body(ben["id"], 1000)
    preview = api.post("/v1/events/preview", body).get_json()
    assert awards_to(preview, ana["id"]) == {"referral": 500}
    assert awards_to(preview, ben["id"]) == {"spend": 10, "referral": 250}
    assert balance(api, ana["id"]) == 50
    assert balance(api, ben["id"]) == 50
    # the preview used no limit: the real post still pays
    posted = api.post("/v1/events", body).get_json()
    assert posted["awarded"] == preview["awarded"]


@freeze_time("2026-11-10T15:00:00Z")
def test_get_event_returns_the_stored_awards_and_explanation(api):
    member = api.enroll()
    result = api.purchase(member["id"], 1250, items=[coffee(2, 450)], store_id="downtown")
    response = api.get(f"/v1/events/{result['event']['id']}")
    assert response.status_code == 200
    stored = response.get_json()
    assert stored["id"] == result["event"]["id"]
    assert stored["type"] == "purchase"
    assert stored["member_id"] == member["id"]
    assert stored["amount"] == 1250
    assert stored["store_id"] == "downtown"
    assert stored["explanation"] == result["explanation"]
    assert stored["awarded"] == result["awarded"]
    assert stored["rules_version"] == result["event"]["rules_version"]


# --------------------------------------------------------------------------- expiry


@freeze_time("2026-11-10T15:00:00Z")
def test_every_lot_expires_12_calendar_months_after_occurred_at(api):
    member = api.enroll()
    result = api.purchase(member["id"], 1250, items=[coffee(2, 450)], occurred_at="2026-09-01T16:00:00Z")
    assert {a["expires_at"] for a in result["awarded"]} == {"2027-09-01T16:00:00Z"}
    assert {a["available_at"] for a in result["awarded"]} == {"2026-09-01T16:00:00Z"}
    assert {a["status"] for a in result["awarded"]} == {"active"}

    entries = {t["rule_id"]: t["expires_at"] for t in ledger(api, member["id"])}
    assert entries == {"welcome": "2027-11-10T15:00:00Z", "spend": "2027-09-01T16:00:00Z",
                       "coffee-bonus": "2027-09-01T16:00:00Z"}


@freeze_time("2026-03-10T13:00:00Z")  # 09:00 EDT; on 10 March 2027 New York is still on EST
def test_expiry_keeps_the_new_york_wall_clock_time(api):
    member = api.enroll()
    result = api.purchase(member["id"], 1000)
    assert {a["expires_at"] for a in result["awarded"]} == {"2027-03-10T14:00:00Z"}
    assert {t["expires_at"] for t in ledger(api, member["id"])} == {"2027-03-10T14:00:00Z"}


@freeze_time("2028-02-29T15:00:00Z")
def test_points_earned_on_29_february_expire_on_28_february(api):
    member = api.enroll()
    result = api.action(member["id"], "review")
    assert [a["expires_at"] for a in result["awarded"]] == ["2029-02-28T15:00:00Z"]
    assert {t["expires_at"] for t in ledger(api, member["id"])} == {"2029-02-28T15:00:00Z"}
