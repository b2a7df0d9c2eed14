"""Tiers: held 365 days from the day reached, then re-evaluated on the trailing 365 days.

Qualifying points (rules/program.yaml): purchase-rule points in the trailing
365 New York days; silver at 500 (× 1.25), gold at 1,500 (× 1.5).
"""

from datetime import timedelta

from loyalty.services.tier_review import review_tiers
from tests.jobs.conftest import utc

T0 = "2026-01-15T17:00:00Z"   # $500 → 500 points: silver
T1 = "2026-06-01T16:00:00Z"   # $800 × 1.25 = 1,000 more: 1,500, gold
GOLD_ENDS = utc(T1) + timedelta(days=365)   # 2027-06-01T16:00:00Z
SECOND = timedelta(seconds=1)


def buy(api, at, member_id, moment, dollars):
    with at(moment):
        api.purchase(member_id, dollars * 100)


def gold_member(api, at) -> str:
    with at(T0):
        member_id = api.enroll()["id"]
        api.purchase(member_id, 50000)
    buy(api, at, member_id, T1, 800)
    return member_id


def test_upgrades_take_effect_at_once_and_each_starts_a_new_hold(api, jobs, at, db_backend):
    member_id = gold_member(api, at)
    assert jobs.tier_changes(member_id) == [
        ("member", "silver", "upgrade", utc(T0)), ("silver", "gold", "upgrade", utc(T1))]
    member = jobs.member(member_id)
    assert (member.tier_id, member.tier_since, member.tier_expires_at) == ("gold", utc(T1), GOLD_ENDS)
    with at("2026-06-02T16:00:00Z"):
        tier = api.member(member_id)["tier"]
    assert (tier["id"], tier["expires_at"], tier["next"]) == ("gold", "2027-06-01T16:00:00Z", None)


def test_at_the_end_of_the_hold_the_trailing_window_decides(api, jobs, at, db_backend):
    requalifies, steps_down, falls, window_ends = (gold_member(api, at) for _ in range(4))
    buy(api, at, requalifies, "2027-03-01T17:00:00Z", 1000)      # × 1.5 = 1,500 inside the window
    buy(api, at, steps_down, "2027-03-01T17:00:00Z", 400)        # × 1.5 = 600: silver
    # `falls` earns nothing more; `window_ends` neither: the 1,500 points that won gold were all
    # earned by 1 June 2026, the last day before the window that ends with the hold.
    assert jobs.run(review_tiers, GOLD_ENDS - SECOND).done == 0
    assert jobs.run(review_tiers, GOLD_ENDS).done == 4
    assert jobs.run(review_tiers, GOLD_ENDS + timedelta(days=30)).done == 0

    member = jobs.member(requalifies)
    assert (member.tier_id, member.tier_since, member.tier_expires_at) == (
        "gold", utc(T1), GOLD_ENDS + timedelta(days=365))
    assert jobs.tier_changes(requalifies)[-1] == ("gold", "gold", "requalified", GOLD_ENDS)

    member = jobs.member(steps_down)
    assert (member.tier_id, member.tier_since, member.tier_expires_at) == (
        "silver", GOLD_ENDS, GOLD_ENDS + timedelta(days=365))
    assert jobs.tier_changes(steps_down)[-1] == ("gold", "silver", "downgrade", GOLD_ENDS)
    with at("2027-06-02T16:00:00Z"):
        tier = api.member(steps_down)["tier"]
    assert (tier["id"], tier["next"]) == ("silver", {"id": "gold", "name": "Gold", "points_needed": 900})

    for member_id in (falls, window_ends):
        member = jobs.member(member_id)
        assert (member.tier_id, member.tier_since, member.tier_expires_at) == ("member", GOLD_ENDS, None)
        assert jobs.tier_changes(member_id)[-1] == ("gold", "member", "downgrade", GOLD_ENDS)


def test_a_run_late_by_more_than_a_hold_replays_each_end_in_turn(api, jobs, at, db_backend):
    member_id = gold_member(api, at)
    buy(api, at, member_id, "2027-03-01T17:00:00Z", 400)         # 600: silver at the first end only
    silver_ends = GOLD_ENDS + timedelta(days=365)
    assert jobs.run(review_tiers, silver_ends + timedelta(days=40)).done == 2
    assert jobs.tier_changes(member_id)[-2:] == [
        ("gold", "silver", "downgrade", GOLD_ENDS), ("silver", "member", "downgrade", silver_ends)]
    assert jobs.member(member_id).tier_id == "member"


def test_a_purchase_after_the_hold_ended_first_ends_it_without_waiting_for_the_job(api, jobs, at, db_backend):
    member_id = gold_member(api, at)
    with at("2027-06-05T16:00:00Z"):                              # the hold ended on 1 June; no job ran
        earned = api.purchase(member_id, 300 * 100)
    assert earned["member"]["tier"]["id"] == "member"
    assert sum(a["points"] for a in earned["awarded"]) == 300      # × 1.0, not gold's × 1.5
    assert jobs.tier_changes(member_id)[-1] == ("gold", "member", "downgrade", GOLD_ENDS)
    assert jobs.run(review_tiers, GOLD_ENDS + timedelta(days=10)).done == 0   # nothing left for the job
    buy(api, at, member_id, "2027-06-12T16:00:00Z", 200)          # 500 since the end: silver at once
    assert jobs.member(member_id).tier_id == "silver"


def test_a_redemption_after_the_hold_ended_sees_the_tier_the_trailing_window_gives(api, jobs, at, db_backend):
    member_id = gold_member(api, at)
    buy(api, at, member_id, "2027-03-01T17:00:00Z", 400)         # 600 in the window: silver at the end
    with at("2027-06-05T16:00:00Z"):
        response = api.post(f"/v1/members/{member_id}/redemptions", {"reward_id": "free-drink"})
        assert response.status_code == 201, response.get_json()
    assert jobs.tier_changes(member_id)[-1] == ("gold", "silver", "downgrade", GOLD_ENDS)
    assert jobs.member(member_id).tier_id == "silver"


def test_points_earned_after_the_hold_ended_upgrade_right_after_the_event(api, jobs, at, db_backend):
    member_id = gold_member(api, at)
    moment = "2027-06-05T16:00:00Z"
    buy(api, at, member_id, moment, 600)                         # 600 after the end, × 1.0: silver
    assert jobs.tier_changes(member_id)[-2:] == [
        ("gold", "member", "downgrade", GOLD_ENDS), ("member", "silver", "upgrade", utc(moment))]
    assert jobs.run(review_tiers, GOLD_ENDS + timedelta(days=10)).done == 0
    member = jobs.member(member_id)
    assert (member.tier_id, member.tier_expires_at) == ("silver", utc(moment) + timedelta(days=365))


def test_reviews_started_together_review_each_member_once(api, jobs, at, db_backend):
    from tests.jobs.test_expiry_batches import run_together

    members = [gold_member(api, at) for _ in range(3)]
    results = run_together(jobs, [lambda: jobs.run(review_tiers, GOLD_ENDS, batch_size=1)] * 2)
    assert sum(r.done for r in results) == 3
    for member_id in members:
        assert [c[2] for c in jobs.tier_changes(member_id)] == ["upgrade", "upgrade", "downgrade"]
