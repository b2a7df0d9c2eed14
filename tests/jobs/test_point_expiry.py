"""Point expiry on the demo's 12-month rule: exact instants, month ends, DST, partial spends, voids.

Lots are earned through the API at a frozen time; the expiry step runs as of
chosen instants. Expected instants are written out in UTC on purpose: they
are what the New York clock in rules/program.yaml says.
"""

from datetime import timedelta

import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.ids import new_id
from loyalty.models import OutboxEvent, WebhookEndpoint
from loyalty.services.expiry import expire_points
from loyalty.services.tier_review import review_tiers
from tests.jobs.conftest import DEMO_YAML, WELCOME, utc

SECOND = timedelta(seconds=1)


def enroll_and_buy(api, at, moment: str, dollars: int = 0) -> str:
    with at(moment):
        member = api.enroll()
        if dollars:
            api.purchase(member["id"], dollars * 100)
    return member["id"]


def test_a_lot_expires_at_its_exact_instant_not_a_second_early(api, jobs, at, db_backend):
    # 12:00 in New York on 23 November 2026 → 12:00 New York on 23 November 2027
    member_id = enroll_and_buy(api, at, "2026-11-23T17:00:00Z", dollars=10)

    early = jobs.run(expire_points, "2027-11-23T16:59:59.999999Z")
    assert early.done == 0
    assert jobs.member(member_id).balance == WELCOME + 10

    due = jobs.run(expire_points, "2027-11-23T17:00:00Z")
    assert due.done == 2
    expired = jobs.entries(member_id, "expire")
    assert [(e.points, e.balance_after, e.rule_id) for e in expired] == [(-50, 10, "welcome"), (-10, 0, "spend")]
    assert {e.expires_at for e in expired} == {utc("2027-11-23T17:00:00Z")}
    assert {(e.actor, e.rules_version, e.created_at) for e in expired} == {
        ("jobs", 1, utc("2027-11-23T17:00:00Z"))}
    assert jobs.member(member_id).balance == 0
    jobs.assert_ledger_whole()


CALENDAR = [
    # 29 February 2028 + 12 months: 2029 has no 29 February, so the end of February
    ("2028-02-29T17:00:00Z", "2029-02-28T17:00:00Z"),
    # 31 January stays 31 January twelve months on
    ("2027-01-31T17:00:00Z", "2028-01-31T17:00:00Z"),
    # 22:00 on 31 December in New York is already 1 January in UTC: the New York date counts
    ("2027-01-01T03:00:00Z", "2028-01-01T03:00:00Z"),
    # Spring forward: 10:00 EDT on 10 March 2026; DST starts on 14 March in 2027, so 10:00 EST = 15:00Z
    ("2026-03-10T14:00:00Z", "2027-03-10T15:00:00Z"),
    # 02:30 EDT on 14 March 2026; 02:30 on 14 March 2027 does not exist in New York (clocks jump
    # 02:00 → 03:00): the offset before the jump applies, 02:30 EST = 07:30Z (03:30 EDT)
    ("2026-03-14T06:30:00Z", "2027-03-14T07:30:00Z"),
    # Fall back: 01:30 EST on 7 November 2026; 01:30 on 7 November 2027 happens twice: the first (EDT)
    ("2026-11-07T06:30:00Z", "2027-11-07T05:30:00Z"),
    # 10:00 EST on 2 November 2026 (after the change) → 10:00 EDT on 2 November 2027 (before it)
    ("2026-11-02T15:00:00Z", "2027-11-02T14:00:00Z"),
]


def test_the_12_month_rule_across_month_ends_and_both_us_dst_changes(api, jobs, at, db_backend):
    members = {expires: enroll_and_buy(api, at, earned) for earned, expires in CALENDAR}
    for expires, member_id in sorted(members.items(), key=lambda item: utc(item[0])):
        assert jobs.lots(member_id)[0][4] == utc(expires)
        assert jobs.run(expire_points, utc(expires) - SECOND).done == 0
        assert jobs.member(member_id).balance == WELCOME
        assert jobs.run(expire_points, utc(expires)).done == 1
        assert jobs.entries(member_id, "expire")[0].expires_at == utc(expires)
        assert jobs.member(member_id).balance == 0
    jobs.assert_ledger_whole()


def redeem(api, member_id, reward_id="free-drink"):
    response = api.post(f"/v1/members/{member_id}/redemptions", {"reward_id": reward_id})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_partly_spent_lot_expires_only_its_remainder(api, jobs, at, db_backend):
    member_id = enroll_and_buy(api, at, "2026-05-04T16:00:00Z")             # welcome 50, expires 2027-05-04
    with at("2026-06-01T16:00:00Z"):
        api.purchase(member_id, 20000)                                     # spend 200, expires 2027-06-01
        redeem(api, member_id)                                             # free-drink 150: 50 + 100 of the 200
    assert [lot[2] for lot in jobs.lots(member_id)] == [0, 100]

    assert jobs.run(expire_points, "2027-05-04T16:00:00Z").done == 0       # the welcome lot is spent
    assert jobs.run(expire_points, "2027-06-01T16:00:00Z").done == 1
    assert [(e.points, e.balance_after, e.rule_id) for e in jobs.entries(member_id, "expire")] == [
        (-100, 0, "spend")]
    jobs.assert_ledger_whole()


def test_points_a_void_puts_back_expire_on_their_original_date(api, jobs, at, db_backend):
    member_id = enroll_and_buy(api, at, "2026-05-04T16:00:00Z", dollars=150)   # 50 + 150, both to 2027-05-04
    with at("2026-06-01T16:00:00Z"):
        api.purchase(member_id, 30000)                                         # 300, to 2027-06-01
        redemption = redeem(api, member_id)                                    # takes the 2027-05-04 lots
    with at("2026-06-20T16:00:00Z"):                                           # codes are valid 30 days
        response = api.post(f"/v1/redemptions/{redemption['id']}/void", {})
        assert response.status_code in (200, 201), response.get_json()
    assert jobs.run(expire_points, "2027-05-04T15:59:59Z").done == 0
    assert jobs.run(expire_points, "2027-05-04T16:00:00Z").done == 2
    expired = jobs.entries(member_id, "expire")
    assert sum(e.points for e in expired) == -200
    assert {e.expires_at for e in expired} == {utc("2027-05-04T16:00:00Z")}
    assert jobs.member(member_id).balance == 300
    jobs.assert_ledger_whole()


def test_a_void_after_the_expiry_returns_points_that_the_next_run_expires(api, jobs, at, db_backend):
    member_id = enroll_and_buy(api, at, "2026-05-04T16:00:00Z", dollars=150)   # 50 + 150 to 2027-05-04
    with at("2026-06-01T16:00:00Z"):
        api.purchase(member_id, 30000)                                         # 300 to 2027-06-01
    with at("2027-04-20T16:00:00Z"):
        redemption = redeem(api, member_id)                                    # 50 + 100 of the May lots
    assert jobs.run(expire_points, "2027-05-04T16:00:00Z").done == 1           # the 50 left of 150
    with at("2027-05-10T16:00:00Z"):
        assert api.post(f"/v1/redemptions/{redemption['id']}/void", {}).status_code in (200, 201)
    assert jobs.member(member_id).balance == 450
    assert jobs.run(expire_points, "2027-05-10T16:00:01Z").done == 2
    expired = jobs.entries(member_id, "expire")
    assert [(e.points, e.rule_id) for e in expired] == [(-50, "spend"), (-50, "welcome"), (-100, "spend")]
    assert {e.expires_at for e in expired} == {utc("2027-05-04T16:00:00Z")}
    assert jobs.member(member_id).balance == 300
    jobs.assert_ledger_whole()


def test_running_twice_or_late_changes_nothing_more(api, jobs, at, db_backend):
    members = [enroll_and_buy(api, at, "2026-05-04T16:00:00Z", dollars=d) for d in (0, 5, 40)]
    with at("2026-08-01T16:00:00Z"):
        api.purchase(members[2], 700)
    late = jobs.run(expire_points, "2027-06-10T00:00:00Z")     # a month late for the May lots
    assert late.done == 5
    assert jobs.run(expire_points, "2027-06-10T00:00:00Z").done == 0
    assert jobs.run(expire_points, "2027-07-01T00:00:00Z").done == 0
    for member_id in members:
        expired = jobs.entries(member_id, "expire")
        assert {e.expires_at for e in expired} == {utc("2027-05-04T16:00:00Z")}
    assert jobs.member(members[2]).balance == 7                # the August lot is not due yet
    assert jobs.run(expire_points, "2027-08-01T16:00:00Z").done == 1
    jobs.assert_ledger_whole()


def test_a_negative_balance_has_nothing_to_expire(api, admin_api, jobs, at, db_backend):
    member_id = enroll_and_buy(api, at, "2026-05-04T16:00:00Z", dollars=30)
    with at("2026-05-05T16:00:00Z"):
        response = admin_api.post(f"/v1/members/{member_id}/adjustments", {"points": -100, "reason": "fraud"})
        assert response.status_code == 201
    assert jobs.run(expire_points, "2027-05-05T00:00:00Z").done == 0
    assert jobs.member(member_id).balance == -20
    jobs.assert_ledger_whole()


def test_the_member_shows_what_expires_in_the_next_30_days(api, jobs, at, db_backend):
    member_id = enroll_and_buy(api, at, "2026-05-04T16:00:00Z", dollars=10)
    with at("2027-04-10T16:00:00Z"):
        soon = api.member(member_id)["points"]["expiring_soon"]
        assert soon == [{"points": 60, "expires_at": "2027-05-04T16:00:00Z"}]
    jobs.run(expire_points, "2027-05-04T16:00:00Z")
    with at("2027-05-04T16:00:00Z"):
        points = api.member(member_id)["points"]
        assert (points["balance"], points["expiring_soon"]) == (0, [])
    with at("2027-05-05T16:00:00Z"):
        page = api.get(f"/v1/members/{member_id}/transactions?type=expire").get_json()["data"]
        assert [(t["points"], t["expires_at"], t["actor"]) for t in page] == [
            (-10, "2027-05-04T16:00:00Z", "jobs"), (-50, "2027-05-04T16:00:00Z", "jobs")]


def test_subscribers_hear_of_expired_points_and_tier_changes(api, jobs, at, db_backend):
    with jobs.app.app_context():
        db.session.add(WebhookEndpoint(id=new_id("whe"), url="https://crm.example.com/hook", secret="s" * 32,
                                       events=["points.expired", "tier.changed"],
                                       created_at=utc("2026-05-01T00:00:00Z")))
        db.session.commit()
        db.session.remove()
    member_id = enroll_and_buy(api, at, "2026-05-04T16:00:00Z", dollars=600)     # silver, 650 points
    jobs.run(expire_points, "2027-05-04T16:00:00Z")
    jobs.run(review_tiers, "2027-05-04T16:00:00Z")
    with jobs.app.app_context():
        events = [(e.type, e.data) for e in db.session.scalars(
            sa.select(OutboxEvent).where(OutboxEvent.member_id == member_id).order_by(OutboxEvent.seq))]
        db.session.remove()
    expired = [data for kind, data in events if kind == "points.expired"]
    assert expired == [{"member_id": member_id, "points": 650, "lots": 2, "balance": 0}]
    changed = [data for kind, data in events if kind == "tier.changed"]
    assert [(c["from"], c["to"], c["reason"]) for c in changed] == [
        ("member", "silver", "upgrade"), ("silver", "member", "downgrade")]


def test_an_accrual_answers_with_what_expires_soon_including_its_own_points(api, jobs, at, db_backend):
    """The accrual's answer reads expiring lots before it writes and adds its own: it must agree with a read after."""
    policy = "expiry:\n  after: 12 months            # \"N days\" or \"N months\"\n"
    assert policy in DEMO_YAML
    jobs.publish(DEMO_YAML.replace(policy, "expiry: {after: 20 days}\n"))
    member_id = enroll_and_buy(api, at, "2026-05-04T16:00:00Z")  # the welcome bonus: 50, expiring 24 May
    with at("2026-05-14T16:00:00Z"):
        first = api.purchase(member_id, 700)["member"]["points"]["expiring_soon"]
        assert first == [{"points": WELCOME, "expires_at": "2026-05-24T16:00:00Z"},
                         {"points": 7, "expires_at": "2026-06-03T16:00:00Z"}]
        second = api.purchase(member_id, 300)["member"]["points"]["expiring_soon"]  # same instant: one line
        assert second == [{"points": WELCOME, "expires_at": "2026-05-24T16:00:00Z"},
                          {"points": 10, "expires_at": "2026-06-03T16:00:00Z"}]
        assert api.member(member_id)["points"]["expiring_soon"] == second
    with at("2026-05-25T16:00:00Z"):  # the welcome lot is past its instant (the job has not run yet)
        third = api.purchase(member_id, 100)["member"]["points"]["expiring_soon"]
        assert third == [{"points": 10, "expires_at": "2026-06-03T16:00:00Z"},
                         {"points": 1, "expires_at": "2026-06-14T16:00:00Z"}]
        assert api.member(member_id)["points"]["expiring_soon"] == third
