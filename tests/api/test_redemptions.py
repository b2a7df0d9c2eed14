"""Rewards and redemptions through the HTTP API, with the demo catalog (rules/program.yaml)."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import LedgerEntry, Lot, LotDraw, Redemption
from loyalty.services import redemptions

WELCOME = 50
DEMO_YAML = (Path(__file__).resolve().parents[2] / "rules" / "program.yaml").read_text()
NOW = "2026-11-10T15:00:00Z"


def redeem(api, member_id, reward_id, **kwargs):
    return api.post(f"/v1/members/{member_id}/redemptions", {"reward_id": reward_id}, **kwargs)


def member_with_points(api, dollars: int, **purchase_fields):
    """A Member-tier member holding 50 welcome points plus `dollars` spend points."""
    member = api.enroll()
    if dollars:
        api.purchase(member["id"], dollars * 100, **purchase_fields)
    return member


def lot_draws(app, redemption_id):
    """(lot id, points) drawn by the redemption's redeem entry, in draw order."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(LotDraw.lot_id, LotDraw.points)
            .join(LedgerEntry, LedgerEntry.seq == LotDraw.entry_seq)
            .where(LedgerEntry.redemption_id == redemption_id, LedgerEntry.type == "redeem")
            .order_by(LotDraw.lot_id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def lots_remaining(app, member_id):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Lot.id, Lot.remaining, Lot.expires_at).where(Lot.member_id == member_id).order_by(Lot.id)
        ).all()
        db.session.remove()
    return [(lot_id, remaining) for lot_id, remaining, _ in rows]


def assert_ledger_whole(app):
    with app.app_context():
        assert verify_ledger(db.session()) == []
        db.session.remove()


# --------------------------------------------------------------------------- catalog


def test_catalog_lists_the_demo_rewards_with_costs_types_and_stock(api):
    rewards = {r["id"]: r for r in api.get("/v1/rewards").get_json()["data"]}
    assert list(rewards) == ["free-drink", "five-off", "ten-percent", "gold-tumbler"]
    assert {k: (r["points_cost"], r["type"]) for k, r in rewards.items()} == {
        "free-drink": (150, "free_item"), "five-off": (500, "fixed_discount"),
        "ten-percent": (800, "percent_discount"), "gold-tumbler": (1000, "merchandise"),
    }
    assert (rewards["five-off"]["value"], rewards["five-off"]["currency"]) == (500, "USD")
    assert rewards["ten-percent"]["value"] == 10
    assert rewards["ten-percent"]["tiers"] == ["silver", "gold"]
    assert rewards["free-drink"]["tiers"] == ["member", "silver", "gold"]
    assert rewards["gold-tumbler"]["stock_remaining"] == 100
    assert rewards["free-drink"]["stock_remaining"] is None
    assert "eligible" not in rewards["free-drink"]


@freeze_time(NOW)
def test_catalog_for_a_member_says_what_is_eligible_and_why_not(api):
    member = member_with_points(api, 100)  # 150 points
    rewards = {r["id"]: r for r in api.get(f"/v1/rewards?member_id={member['id']}").get_json()["data"]}
    assert rewards["free-drink"]["eligible"] is True
    assert rewards["free-drink"]["ineligible_reason"] is None
    assert rewards["five-off"]["eligible"] is False
    assert rewards["five-off"]["ineligible_reason"] == "350 more points needed."
    assert rewards["ten-percent"]["eligible"] is False
    assert rewards["ten-percent"]["ineligible_reason"] == "Only for Silver and Gold members."
    assert rewards["gold-tumbler"]["eligible"] is False


def test_catalog_for_an_unknown_member_is_404(api):
    response = api.get("/v1/rewards?member_id=mem_nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


# --------------------------------------------------------------------------- redeeming


@freeze_time(NOW)
def test_redeeming_free_drink_spends_150_and_issues_a_readable_code(api, app, db_backend):
    member = member_with_points(api, 200)  # 250 points
    response = redeem(api, member["id"], "free-drink")
    assert response.status_code == 201, response.get_json()
    redemption = response.get_json()
    assert redemption["points_spent"] == 150
    assert redemption["status"] == "issued"
    assert redemption["issued_at"] == "2026-11-10T15:00:00Z"
    assert redemption["expires_at"] == "2026-12-10T15:00:00Z"  # valid 30 days
    assert redemption["id"].startswith("rdm_")
    assert len(redemption["code"]) == 11 and redemption["code"][5] == "-"
    assert not set(redemption["code"].replace("-", "")) & set("01ILOU")
    assert api.member(member["id"])["points"]["balance"] == 100
    assert api.member(member["id"])["points"]["lifetime_redeemed"] == 150
    entry = api.get(f"/v1/members/{member['id']}/transactions").get_json()["data"][0]
    assert (entry["type"], entry["points"], entry["balance_after"], entry["redemption_id"]) == (
        "redeem", -150, 100, redemption["id"])
    assert_ledger_whole(app)


def test_codes_are_unique(api):
    codes = {redemptions.new_code() for _ in range(2000)}
    assert len(codes) == 2000


@freeze_time(NOW)
def test_a_redemption_needs_a_balance_of_at_least_the_cost(api, db_backend):
    member = member_with_points(api, 99)  # 149 points
    response = redeem(api, member["id"], "free-drink")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_points"
    assert error["details"]["spendable"] == 149
    assert error["details"]["required"] == 150
    assert api.member(member["id"])["points"]["balance"] == 149


@freeze_time(NOW)
def test_a_negative_balance_blocks_redemptions(api, admin_api, db_backend):
    member = member_with_points(api, 0)
    admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": -100, "reason": "test"})
    assert redeem(api, member["id"], "free-drink").get_json()["error"]["code"] == "insufficient_points"


@freeze_time(NOW)
def test_tier_restricted_reward_is_unavailable_to_a_member_tier_member(api):
    member = member_with_points(api, 900)  # 950 points; 900 qualifying points reach Silver
    assert api.member(member["id"])["tier"]["id"] == "silver"
    assert redeem(api, member["id"], "ten-percent").status_code == 201
    response = redeem(api, member["id"], "gold-tumbler")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "reward_unavailable"
    assert response.get_json()["error"]["details"] == {"reward_id": "gold-tumbler"}


def test_unknown_reward_is_404_and_bad_bodies_are_422(api):
    member = member_with_points(api, 0)
    response = redeem(api, member["id"], "caviar")
    assert response.status_code == 404
    assert response.get_json()["error"]["details"] == {"reward_id": "caviar"}
    response = api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink", "points": 1})
    assert response.status_code == 422
    assert "points" in response.get_json()["error"]["details"]["fields"]
    response = api.post(f"/v1/members/{member['id']}/redemptions", {})
    assert response.get_json()["error"]["details"]["fields"] == {"reward_id": ["Missing data for required field."]}


def test_redeeming_for_an_unknown_member_is_404(api):
    assert redeem(api, "mem_nope", "free-drink").status_code == 404


def test_a_suspended_member_cannot_redeem(api):
    member = member_with_points(api, 200)
    api.patch(f"/v1/members/{member['id']}", {"status": "suspended"})
    response = redeem(api, member["id"], "free-drink")
    assert response.get_json()["error"]["code"] == "member_inactive"


def test_redemption_needs_an_idempotency_key_and_replays_the_first_answer(api, db_backend):
    member = member_with_points(api, 400)  # 450 points
    response = api.post(f"/v1/members/{member['id']}/redemptions", {"reward_id": "free-drink"},
                        idempotency_key=False)
    assert response.status_code == 400
    first = redeem(api, member["id"], "free-drink", idempotency_key="till-1/redeem-7")
    again = redeem(api, member["id"], "free-drink", idempotency_key="till-1/redeem-7")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert api.member(member["id"])["points"]["balance"] == 300
    other = redeem(api, member["id"], "five-off", idempotency_key="till-1/redeem-7")
    assert other.get_json()["error"]["code"] == "idempotency_conflict"


# --------------------------------------------------------------------------- lots


def earn_on_three_days(api):
    """50 welcome points now, then 100, 200 and 300 points from purchases on 11 September,
    11 October and 31 October: four lots, each expiring 12 months after its purchase."""
    member = api.enroll()
    for occurred_at, dollars in (("2026-09-11T15:00:00Z", 100), ("2026-10-11T15:00:00Z", 200),
                                 ("2026-10-31T15:00:00Z", 300)):
        api.purchase(member["id"], dollars * 100, occurred_at=occurred_at)
    return member


@freeze_time(NOW)
def test_points_leave_the_lots_that_expire_first(api, app, db_backend):
    member = earn_on_three_days(api)
    lots = lots_remaining(app, member["id"])  # welcome, then Sep 11, Oct 11, Oct 31
    welcome, sep, oct11, oct31 = (lot_id for lot_id, _ in lots)
    redemption = redeem(api, member["id"], "five-off").get_json()  # 500 points
    assert lot_draws(app, redemption["id"]) == [(sep, 100), (oct11, 200), (oct31, 200)]
    assert lots_remaining(app, member["id"]) == [(welcome, 50), (sep, 0), (oct11, 0), (oct31, 100)]


@freeze_time(NOW)
def test_void_puts_points_back_into_the_same_lots_and_redeeming_again_spends_them_in_the_same_order(
        api, app, db_backend):
    member = earn_on_three_days(api)
    before = lots_remaining(app, member["id"])
    first = redeem(api, member["id"], "five-off").get_json()
    voided = api.post(f"/v1/redemptions/{first['id']}/void")
    assert voided.status_code == 200
    assert voided.get_json()["status"] == "voided"
    assert voided.get_json()["voided_at"] == "2026-11-10T15:00:00Z"
    assert lots_remaining(app, member["id"]) == before
    assert api.member(member["id"])["points"]["balance"] == 650
    assert api.member(member["id"])["points"]["lifetime_redeemed"] == 0
    entry = api.get(f"/v1/members/{member['id']}/transactions").get_json()["data"][0]
    assert (entry["type"], entry["points"], entry["redemption_id"]) == ("void", 500, first["id"])
    second = redeem(api, member["id"], "five-off").get_json()
    assert lot_draws(app, second["id"]) == lot_draws(app, first["id"])
    assert_ledger_whole(app)


@freeze_time(NOW)
def test_void_while_the_balance_is_negative_pays_the_debt_first(api, app, admin_api, db_backend):
    member = member_with_points(api, 200)  # 250
    redemption = redeem(api, member["id"], "free-drink").get_json()  # 100 left
    admin_api.post(f"/v1/members/{member['id']}/adjustments", {"points": -130, "reason": "correction"})
    assert api.member(member["id"])["points"]["balance"] == -30
    api.post(f"/v1/redemptions/{redemption['id']}/void")
    assert api.member(member["id"])["points"]["balance"] == 120
    assert sum(remaining for _, remaining in lots_remaining(app, member["id"])) == 120
    assert_ledger_whole(app)


def test_points_past_their_expiry_are_not_spendable_before_the_job_runs(api, app):
    with freeze_time("2025-11-12T15:00:00Z"):
        member = member_with_points(api, 100)  # 150 points, expiring 2026-11-12 15:00Z
    with freeze_time("2026-09-01T15:00:00Z"):
        api.purchase(member["id"], 100)  # 1 point, expiring 2027
    with freeze_time("2026-11-12T15:00:00Z"):
        response = redeem(api, member["id"], "free-drink")
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["spendable"] == 1
    with freeze_time("2026-11-12T14:59:59Z"):
        assert redeem(api, member["id"], "free-drink").status_code == 201


# --------------------------------------------------------------------------- look up, complete, void


@freeze_time(NOW)
def test_a_till_looks_up_a_code_in_any_case_with_or_without_the_dash(api):
    member = member_with_points(api, 100)
    redemption = redeem(api, member["id"], "free-drink").get_json()
    for text in (redemption["code"], redemption["code"].lower(), redemption["code"].replace("-", ""),
                 redemption["id"]):
        response = api.get(f"/v1/redemptions/{text}")
        assert response.status_code == 200, text
        assert response.get_json()["id"] == redemption["id"]
    assert api.get("/v1/redemptions/AAAAA-BBBBB").status_code == 404


@freeze_time(NOW)
def test_complete_then_void_once_then_no_more(api, db_backend):
    member = member_with_points(api, 100)
    redemption = redeem(api, member["id"], "free-drink").get_json()
    done = api.post(f"/v1/redemptions/{redemption['id']}/complete", idempotency_key=False)
    assert done.status_code == 200
    assert (done.get_json()["status"], done.get_json()["completed_at"]) == ("completed", "2026-11-10T15:00:00Z")
    assert api.post(f"/v1/redemptions/{redemption['id']}/complete").get_json()["status"] == "completed"
    assert api.post(f"/v1/redemptions/{redemption['id']}/void").status_code == 200
    again = api.post(f"/v1/redemptions/{redemption['id']}/void")
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invalid_state"
    assert api.member(member["id"])["points"]["balance"] == 150


@freeze_time(NOW)
def test_a_voided_redemption_cannot_be_completed(api, db_backend):
    member = member_with_points(api, 100)
    redemption = redeem(api, member["id"], "free-drink").get_json()
    api.post(f"/v1/redemptions/{redemption['id']}/void")
    response = api.post(f"/v1/redemptions/{redemption['id']}/complete")
    assert response.status_code == 409
    assert response.get_json()["error"] == {
        "code": "invalid_state", "message": "A voided redemption cannot be completed.",
        "details": {"status": "voided"}}


def test_void_needs_an_idempotency_key(api):
    with freeze_time(NOW):
        member = member_with_points(api, 100)
        redemption = redeem(api, member["id"], "free-drink").get_json()
        response = api.post(f"/v1/redemptions/{redemption['id']}/void", idempotency_key=False)
    assert response.status_code == 400


def test_unused_codes_expire_after_30_days_and_keep_their_points(api, app, db_backend):
    with freeze_time(NOW):
        member = member_with_points(api, 100)
        redemption = redeem(api, member["id"], "free-drink").get_json()
    with freeze_time("2026-12-10T14:59:59Z"):
        assert api.get(f"/v1/redemptions/{redemption['code']}").get_json()["status"] == "issued"
    with freeze_time("2026-12-10T15:00:00Z"):
        assert api.get(f"/v1/redemptions/{redemption['code']}").get_json()["status"] == "expired"
        response = api.post(f"/v1/redemptions/{redemption['id']}/complete")
        assert response.get_json()["error"]["code"] == "invalid_state"
        with app.app_context():
            from loyalty import clock
            from loyalty.db.transactions import write_transaction

            with write_transaction(db.session()):
                assert redemptions.expire_unused(db.session(), clock.now()) == 1
            with write_transaction(db.session()):
                assert redemptions.expire_unused(db.session(), clock.now()) == 0
            assert db.session.get(Redemption, redemption["id"]).status == "expired"
            db.session.remove()
        assert api.post(f"/v1/redemptions/{redemption['id']}/void").status_code == 409
    assert api.member(member["id"])["points"]["balance"] == 0


@freeze_time(NOW)
def test_a_member_lists_its_redemptions_newest_first_with_a_cursor(api):
    member = member_with_points(api, 500)  # 550
    ids = [redeem(api, member["id"], "free-drink").get_json()["id"] for _ in range(3)]
    page = api.get(f"/v1/members/{member['id']}/redemptions?limit=2").get_json()
    assert [r["id"] for r in page["data"]] == sorted(ids, reverse=True)[:2]
    rest = api.get(f"/v1/members/{member['id']}/redemptions?limit=2&cursor={page['next_cursor']}").get_json()
    assert {r["id"] for r in page["data"] + rest["data"]} == set(ids)
    assert rest["next_cursor"] is None
    assert api.get(f"/v1/members/{member['id']}/redemptions?cursor=zzz").status_code == 422


# --------------------------------------------------------------------------- stock and windows


def publish(admin_api, yaml_text):
    response = admin_api.client.put("/v1/rules", json={"yaml": yaml_text, "note": "test"},
                                    headers={"Authorization": f"Bearer {admin_api.key}"})
    assert response.status_code == 201, response.get_json()


MUG = """
  - id: mug
    name: Bean & Leaf mug
    points_cost: 100
    type: merchandise
    stock: 2
"""


@freeze_time(NOW)
def test_stock_runs_out_and_a_void_gives_the_unit_back(api, admin_api, db_backend):
    publish(admin_api, DEMO_YAML + MUG)
    member = member_with_points(api, 500)
    first = redeem(api, member["id"], "mug").get_json()
    redeem(api, member["id"], "mug")
    out = redeem(api, member["id"], "mug")
    assert out.status_code == 409
    assert out.get_json()["error"]["code"] == "reward_unavailable"
    assert out.get_json()["error"]["message"] == "Bean & Leaf mug is out of stock."
    catalog = {r["id"]: r for r in api.get(f"/v1/rewards?member_id={member['id']}").get_json()["data"]}
    assert catalog["mug"]["stock_remaining"] == 0
    assert catalog["mug"]["ineligible_reason"] == "Out of stock."
    api.post(f"/v1/redemptions/{first['id']}/void")
    assert redeem(api, member["id"], "mug").status_code == 201


def test_a_reward_outside_its_window_is_unavailable(api, admin_api):
    publish(admin_api, DEMO_YAML + """
  - id: holiday-cookie
    name: Holiday cookie
    points_cost: 10
    type: free_item
    available: {from: 2026-12-20, to: 2026-12-26}
""")
    member = member_with_points(api, 0)
    with freeze_time("2026-12-20T04:59:59Z"):  # still 19 December in New York
        response = redeem(api, member["id"], "holiday-cookie")
        assert response.get_json()["error"]["code"] == "reward_unavailable"
        assert response.get_json()["error"]["message"] == "Available from December 20, 2026."
    with freeze_time("2026-12-20T05:00:00Z"):
        assert redeem(api, member["id"], "holiday-cookie").status_code == 201
    with freeze_time("2026-12-27T05:00:00Z"):
        assert "ended" in redeem(api, member["id"], "holiday-cookie").get_json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/rewards", "/v1/redemptions/AAAAA-BBBBB"])
def test_reward_endpoints_need_a_key(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
