"""The customer's own view (contract 1.1): ways to earn, the next expiry, their redemptions, and only
customer-facing fields anywhere a widget token reaches.

Figures are the demo program's (rules/program.yaml, demo-program.md).
"""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from freezegun import freeze_time

from loyalty.db.transactions import write_transaction
from loyalty.extensions import db
from loyalty.models import Lot
from tests.api.test_widget_api import LATTES, widget_for

NOW = "2026-11-10T15:00:00Z"
DEMO = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
#: Every field a widget token can see, by where it is seen; adding one is a decision, and fails here.
CUSTOMER_FIELDS = {
    "me": {"id", "email", "phone", "first_name", "last_name", "birthday", "email_opt_in", "status", "enrolled_at",
           "referral_code", "points", "tier", "next_expiry", "ways_to_earn", "program", "rewards", "transactions",
           "redemptions", "cards", "challenges", "streaks", "badges"},
    "me.cards": {"id", "name", "description", "stamps", "of", "completed", "reward_id", "points"},
    "me.points": {"balance", "pending", "lifetime_earned", "lifetime_redeemed", "expiring_soon"},
    "me.points.expiring_soon": {"points", "expires_at"},
    "me.tier": {"id", "name", "multiplier", "since", "expires_at", "qualifying_points", "next"},
    "me.tier.next": {"id", "name", "points_needed"},
    "me.next_expiry": {"points", "expires_at"},
    "me.ways_to_earn": {"rule_id", "action", "title", "description", "points", "points_per_dollar",
                        "friend_points", "remaining", "limit", "period", "from", "until"},
    "me.program": {"name", "currency", "tiers"},
    "me.program.tiers": {"id", "name", "qualifying_points", "multiplier"},
    "reward": {"id", "name", "description", "points_cost", "type", "value", "currency", "tiers", "stock_remaining",
               "available_from", "available_until", "code_valid_days", "eligible", "ineligible_reason"},
    "activity": {"id", "type", "points", "balance_after", "rule_id", "event_id", "redemption_id", "reason",
                 "created_at", "expires_at", "description", "detail", "occurred_at"},
    "redemption": {"id", "member_id", "reward_id", "reward_name", "points_spent", "code", "status", "issued_at",
                   "expires_at", "completed_at", "voided_at"},
    "page": {"data", "next_cursor"},
}
STAFF_ONLY = {"actor", "stripe_customer_id", "channel", "external_id", "lifecycle_stage", "referred_by_member_id",
              "rules_version", "stripe_promotion_code", "stripe"}


def review(api, member_id):
    response = api.post("/v1/events", {"type": "review", "member_id": member_id, "source_id": uuid.uuid4().hex},
                        idempotency_key=uuid.uuid4().hex)
    assert response.status_code == 201, response.get_json()


@freeze_time(NOW)
def test_ways_to_earn_say_how_and_what_is_left_for_this_member(app, api):
    ana = api.enroll("ana", email="ana@example.com", email_opt_in=True)
    widget = widget_for(app, api, ana["id"])
    ways = {way["rule_id"]: way for way in widget.get("/v1/me").get_json()["ways_to_earn"]}
    # The welcome bonus was had on enrolling and the sign-up bonus once ever: neither is offered again.
    assert list(ways) == ["spend", "coffee-bonus", "holiday-double", "referral", "birthday", "review"]
    assert ways["spend"] == {"rule_id": "spend", "action": "purchase", "title": "Make a purchase",
                             "description": "1 point per dollar", "points_per_dollar": 1}
    assert ways["coffee-bonus"]["title"] == "Buy coffee"
    assert (ways["holiday-double"]["title"], ways["holiday-double"]["from"], ways["holiday-double"]["until"]) == (
        "Double points over the holidays", "2026-12-20", "2026-12-26")
    assert ways["referral"] == {"rule_id": "referral", "action": "referral", "title": "Refer a friend",
                                "description": "Bring a friend; both of you earn when they first spend $10",
                                "points": 500, "friend_points": 250, "remaining": 5, "limit": 5,
                                "period": "calendar_year"}
    assert ways["birthday"] == {"rule_id": "birthday", "action": "birthday", "title": "Celebrate your birthday",
                                     "description": "Happy birthday", "points": 200, "remaining": 1, "limit": 1,
                                     "period": "calendar_year"}
    assert (ways["review"]["points"], ways["review"]["remaining"], ways["review"]["limit"],
            ways["review"]["period"]) == (25, 3, 3, "calendar_month")

    review(api, ana["id"])
    review(api, ana["id"])
    after = {way["rule_id"]: way for way in widget.get("/v1/me").get_json()["ways_to_earn"]}
    assert after["review"]["remaining"] == 1
    review(api, ana["id"])
    review(api, ana["id"])  # over the month's limit: no points, still listed with none left
    assert {way["rule_id"]: way for way in widget.get("/v1/me").get_json()["ways_to_earn"]}["review"][
        "remaining"] == 0
    with freeze_time("2026-12-01T15:00:00Z"):  # a new month on the program's calendar
        later = widget_for(app, api, ana["id"]).get("/v1/me").get_json()["ways_to_earn"]
    assert {way["rule_id"]: way for way in later}["review"]["remaining"] == 3


@freeze_time(NOW)
def test_ways_to_earn_are_at_the_members_tier_and_leave_out_ended_windows(app, api):
    ben = api.enroll("ben")
    api.purchase(ben["id"], 60000)  # 600 qualifying points: Silver, × 1.25
    ways = {way["rule_id"]: way for way in widget_for(app, api, ben["id"]).get("/v1/me").get_json()["ways_to_earn"]}
    assert (ways["spend"]["points_per_dollar"], ways["coffee-bonus"]["points_per_dollar"]) == (1.25, 1.25)
    assert ways["email-signup"]["points"] == 100  # not opted in yet: still to earn, once
    assert ways["birthday"]["points"] == 200  # not multiplied by the tier in the program
    with freeze_time("2026-12-27T15:00:00Z"):
        later = widget_for(app, api, ben["id"]).get("/v1/me").get_json()["ways_to_earn"]
    assert "holiday-double" not in {way["rule_id"] for way in later}


@freeze_time(NOW)
def test_a_tiers_own_way_to_earn_shows_only_to_its_tier_and_a_suspended_member_sees_none(app, api, admin_api):
    gold_visits = DEMO.replace("\n# The reward catalog", """
  - id: gold-visit
    description: Gold members' visit bonus
    on: visit
    conditions: {member.tier: {at_least: gold}}
    award: {points: 20}

# The reward catalog""")
    published = admin_api.client.put("/v1/rules", json={"yaml": gold_visits, "note": "gold visits"},
                                     headers=admin_api.headers(idempotency_key=False))
    assert published.status_code == 201, published.get_json()
    member, gold = api.enroll("plain"), api.enroll("golden")
    api.purchase(gold["id"], 150_000)
    assert api.member(gold["id"])["tier"]["id"] == "gold"
    ways_of = {who["id"]: {way["rule_id"] for way in widget_for(app, api, who["id"]).get("/v1/me").get_json()[
        "ways_to_earn"]} for who in (member, gold)}
    assert "gold-visit" in ways_of[gold["id"]] and "gold-visit" not in ways_of[member["id"]]
    assert api.patch(f"/v1/members/{member['id']}", {"status": "suspended"}).status_code == 200
    assert widget_for(app, api, member["id"]).get("/v1/me").get_json()["ways_to_earn"] == []


def test_next_expiry_is_the_soonest_however_far_and_null_when_none(app, api):
    with freeze_time(NOW):
        ana = api.enroll("ana")  # 50 welcome points, expiring 12 months on
    with freeze_time("2026-11-20T15:00:00Z"):
        api.purchase(ana["id"], 1250, items=LATTES)  # 21 more, ten days later
        me = widget_for(app, api, ana["id"]).get("/v1/me").get_json()
    assert me["points"]["expiring_soon"] == []  # nothing within 30 days...
    assert me["next_expiry"] == {"points": 50, "expires_at": "2027-11-10T15:00:00Z"}  # ...but this, a year out
    with app.app_context(), write_transaction(db.session()):
        db.session.query(Lot).filter(Lot.member_id == ana["id"]).update({"expires_at": None})
    with freeze_time("2026-11-20T15:00:00Z"):
        assert widget_for(app, api, ana["id"]).get("/v1/me").get_json()["next_expiry"] is None


@freeze_time(NOW)
def test_my_redemptions_list_codes_newest_first_with_names_and_status(app, api):
    ben = api.enroll("ben")
    api.purchase(ben["id"], 30000)
    widget = widget_for(app, api, ben["id"])
    first = widget.redeem("free-drink", idempotency_key="k-1").get_json()
    assert (first["reward_name"], first["member_id"]) == ("Any drink, any size", ben["id"])
    with freeze_time(datetime(2026, 11, 10, 15, 5, tzinfo=UTC)):
        second = widget.redeem("free-drink", idempotency_key="k-2").get_json()
    mine = widget.get("/v1/me/redemptions").get_json()
    assert [(r["code"], r["reward_name"], r["status"]) for r in mine["data"]] == [
        (second["code"], "Any drink, any size", "issued"), (first["code"], "Any drink, any size", "issued")]
    assert mine["next_cursor"] is None
    page = widget.get("/v1/me/redemptions?limit=1").get_json()
    assert [r["code"] for r in page["data"]] == [second["code"]] and page["next_cursor"]
    with freeze_time(datetime(2026, 11, 10, 15, tzinfo=UTC) + timedelta(days=31)):
        expired = widget_for(app, api, ben["id"]).get("/v1/me?include=redemptions").get_json()["redemptions"]["data"]
    assert [r["status"] for r in expired] == ["expired", "expired"]


def _fields(value, where: str, seen: dict) -> None:
    """Every key under every path of a JSON answer, lists flattened."""
    if isinstance(value, list):
        for item in value:
            _fields(item, where, seen)
    elif isinstance(value, dict):
        seen.setdefault(where, set()).update(value)
        for key, item in value.items():
            _fields(item, f"{where}.{key}", seen)


@freeze_time(NOW)
def test_a_widget_token_sees_only_customer_facing_fields(app, api):
    with freeze_time("2025-11-20T15:00:00Z"):  # points that expire within 30 days of NOW, more than she spends
        ana = api.enroll("ana", email="ana@example.com", email_opt_in=True, channel="pos")
        api.purchase(ana["id"], 50000)
    api.purchase(ana["id"], 30000, items=LATTES, channel="pos", store_id="downtown")
    widget = widget_for(app, api, ana["id"])
    widget.redeem("free-drink")
    seen: dict[str, set] = {}
    _fields(widget.get("/v1/me?include=rewards,transactions,redemptions").get_json(), "me", seen)
    _fields(widget.get("/v1/me/transactions").get_json(), "transactions", seen)
    _fields(widget.get("/v1/me/rewards").get_json(), "rewards", seen)
    _fields(widget.get("/v1/me/redemptions").get_json(), "redemptions", seen)
    _fields(widget.redeem("free-drink", idempotency_key="k-2").get_json(), "redeemed", seen)
    found = {
        "me": seen["me"], "me.points": seen["me.points"], "me.points.expiring_soon": seen["me.points.expiring_soon"],
        "me.tier": seen["me.tier"], "me.tier.next": seen["me.tier.next"], "me.next_expiry": seen["me.next_expiry"],
        "me.ways_to_earn": seen["me.ways_to_earn"], "me.program": seen["me.program"],
        "me.program.tiers": seen["me.program.tiers"], "me.cards": seen["me.cards"],
        "reward": seen["me.rewards"] | seen["rewards.data"],
        "activity": seen["me.transactions.data"] | seen["transactions.data"],
        "redemption": seen["me.redemptions.data"] | seen["redemptions.data"] | seen["redeemed"],
        "page": seen["me.transactions"] | seen["transactions"] | seen["rewards"] | seen["redemptions"],
    }
    assert found == CUSTOMER_FIELDS
    assert not set().union(*seen.values()) & STAFF_ONLY


def test_next_expiry_adds_the_lots_due_together_and_moves_on_when_they_are_spent_or_due(app, api):
    with freeze_time(NOW) as frozen:
        ana = api.enroll("ana", email="ana@example.com", email_opt_in=True)  # 50 + 100, due at the same instant
        frozen.move_to("2026-11-20T15:00:00Z")
        api.purchase(ana["id"], 1250, items=LATTES)  # 12 + 9, due ten days later
        widget = widget_for(app, api, ana["id"])
        assert widget.get("/v1/me").get_json()["next_expiry"] == {"points": 150, "expires_at": "2027-11-10T15:00:00Z"}
        assert widget.redeem("free-drink").status_code == 201  # spends the lots that expire first
        assert widget.get("/v1/me").get_json()["next_expiry"] == {"points": 21, "expires_at": "2027-11-20T15:00:00Z"}

        frozen.move_to("2027-11-01T15:00:00Z")  # within 30 days: the same points as expiring_soon
        me = widget_for(app, api, ana["id"]).get("/v1/me").get_json()
        assert me["points"]["expiring_soon"] == [me["next_expiry"]] == [
            {"points": 21, "expires_at": "2027-11-20T15:00:00Z"}]

        frozen.move_to("2027-11-20T15:00:00Z")  # due: no longer spendable, even before the job sweeps them
        me = widget_for(app, api, ana["id"]).get("/v1/me").get_json()
        assert (me["points"]["balance"], me["next_expiry"]) == (21, None)
