"""Publishing a new expiry policy: earned lots keep their date unless the YAML says to re-date them;
inactivity expiry; both run by the jobs, on SQLite and PostgreSQL."""

from datetime import timedelta

from loyalty.services.expiry import expire_inactive, expire_points
from loyalty.services.redating import redate_lots
from tests.jobs.conftest import DEMO_YAML, utc

EARNED = "2026-05-04T16:00:00Z"
DEMO_POLICY = "expiry:\n  after: 12 months            # \"N days\" or \"N months\"\n"


def with_policy(policy: str) -> str:
    assert DEMO_POLICY in DEMO_YAML
    return DEMO_YAML.replace(DEMO_POLICY, f"expiry: {policy}\n")


def test_a_new_policy_leaves_earned_lots_on_their_date(api, jobs, at, db_backend):
    [old] = jobs.seed(1, EARNED, dollars=10)
    jobs.publish(with_policy("{after: 3 months}"))
    with at("2026-06-01T16:00:00Z"):
        new_lot = api.purchase(old, 2000)["awarded"][0]
    assert new_lot["expires_at"] == "2026-09-01T16:00:00Z"
    assert jobs.run(redate_lots, "2026-06-02T00:00:00Z").done == 0     # the YAML did not ask
    assert jobs.run(expire_points, "2026-09-01T16:00:00Z").done == 1
    assert {lot[4] for lot in jobs.lots(old)[:2]} == {utc("2027-05-04T16:00:00Z")}
    assert jobs.member(old).balance == 60


def test_redate_earned_moves_held_lots_once_and_resumes_after_a_stop(api, jobs, at, db_backend):
    members = jobs.seed(3, EARNED, dollars=10)                         # 6 lots to 2027-05-04
    version = jobs.publish(with_policy("{after: 6 months, end_of: month, redate_earned: true}"))
    first = jobs.run(redate_lots, "2026-06-01T00:00:00Z", batch_size=2, max_batches=2)
    assert (first.done, first.stopped) == (4, True)
    rest = jobs.run(redate_lots, "2026-06-01T00:00:00Z", batch_size=2)
    assert rest.done == 2
    assert jobs.run(redate_lots, "2026-06-02T00:00:00Z").done == 0     # once per version
    for member_id in members:
        assert {lot[4] for lot in jobs.lots(member_id)} == {utc("2026-12-01T05:00:00Z")}
    assert jobs.run(expire_points, "2026-12-01T04:59:59Z").done == 0
    assert jobs.run(expire_points, "2026-12-01T05:00:00Z").done == 6
    assert {e.rules_version for m in members for e in jobs.entries(m, "expire")} == {version}
    jobs.assert_ledger_whole()


INACTIVE = "{after: 12 months, inactive_after: 30 days}"


def test_all_points_expire_after_30_days_without_earning_or_spending(api, jobs, at, db_backend):
    jobs.publish(with_policy(INACTIVE))
    idle, active, spender = jobs.seed(3, EARNED, dollars=200)
    with at("2026-05-24T16:00:00Z"):
        api.purchase(active, 500)
        assert api.post(f"/v1/members/{spender}/redemptions", {"reward_id": "free-drink"}).status_code == 201
    ends = utc(EARNED) + timedelta(days=30)
    assert jobs.run(expire_inactive, ends - timedelta(seconds=1)).done == 0
    assert jobs.run(expire_inactive, ends).done == 2
    expired = jobs.entries(idle, "expire")
    assert [(e.points, e.expires_at) for e in expired] == [(-50, ends), (-200, ends)]
    assert {e.reason for e in expired} == {"no earning or spending for 30 days"}
    assert (jobs.member(active).balance, jobs.member(spender).balance) == (255, 100)

    later = utc("2026-06-23T16:00:00Z")                              # 30 days after the 24 May activity
    assert jobs.run(expire_inactive, later).done == 4
    assert {jobs.member(m).balance for m in (idle, active, spender)} == {0}
    assert jobs.run(expire_inactive, later + timedelta(days=60)).done == 0
    jobs.assert_ledger_whole()
