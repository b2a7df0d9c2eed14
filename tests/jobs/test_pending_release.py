"""Pending points: spendable from ``available_at`` on, with their ``earn`` entry then."""

import pytest

from loyalty.services.pending import release_pending
from tests.jobs.conftest import DEMO_YAML, WELCOME, utc

EARNED = "2026-10-25T14:00:00Z"      # 10:00 EDT; DST ends on 1 November
AVAILABLE = "2026-11-08T15:00:00Z"   # 14 days later, 10:00 EST


@pytest.fixture
def pending_version(jobs):
    text = DEMO_YAML.replace("    award: {points_per_dollar: 1}           # of the whole amount\n",
                             "    award: {points_per_dollar: 1}           # of the whole amount\n"
                             "    pending_days: 14\n")
    assert text != DEMO_YAML
    return jobs.publish(text)


def buy(api, at, dollars, member_id=None):
    with at(EARNED):
        member_id = member_id or api.enroll()["id"]
        event = api.purchase(member_id, dollars * 100)
    return member_id, event


def test_pending_points_are_released_at_their_instant_with_an_earn_entry(api, jobs, at, db_backend,
                                                                           pending_version):
    member_id, event = buy(api, at, 30)
    assert [(a["status"], a["available_at"]) for a in event["awarded"]] == [("pending", AVAILABLE)]
    member = jobs.member(member_id)
    assert (member.balance, member.pending) == (WELCOME, 30)

    assert jobs.run(release_pending, "2026-11-08T14:59:59Z").done == 0
    assert jobs.run(release_pending, AVAILABLE).done == 1
    member = jobs.member(member_id)
    assert (member.balance, member.pending, member.lifetime_earned) == (WELCOME + 30, 0, WELCOME + 30)
    [entry] = jobs.entries(member_id, "earn")[1:]
    assert (entry.points, entry.balance_after, entry.rule_id, entry.rules_version, entry.actor) == (
        30, WELCOME + 30, "spend", pending_version, "jobs")
    assert entry.expires_at == utc("2027-10-25T14:00:00Z")
    assert jobs.lots(member_id)[-1][1:4] == (30, 30, "active")
    assert jobs.run(release_pending, "2026-12-01T00:00:00Z").done == 0
    jobs.assert_ledger_whole()


def test_a_refund_while_pending_leaves_only_the_rest_to_release(api, jobs, at, db_backend, pending_version):
    member_id, event = buy(api, at, 30)
    with at("2026-10-26T14:00:00Z"):
        response = api.post(f"/v1/events/{event['event']['id']}/refunds", {"amount": 1000})
        assert response.status_code == 201, response.get_json()
    assert jobs.member(member_id).pending == 20
    jobs.run(release_pending, AVAILABLE)
    member = jobs.member(member_id)
    assert (member.balance, member.pending) == (WELCOME + 20, 0)
    assert [e.points for e in jobs.entries(member_id, "earn")] == [WELCOME, 20]
    jobs.assert_ledger_whole()


def test_released_points_pay_a_negative_balance_first(api, admin_api, jobs, at, db_backend, pending_version):
    member_id, _ = buy(api, at, 30)
    with at(EARNED):
        response = admin_api.post(f"/v1/members/{member_id}/adjustments", {"points": -70, "reason": "chargeback"})
        assert response.status_code == 201
    assert jobs.member(member_id).balance == -20
    jobs.run(release_pending, AVAILABLE)
    assert jobs.member(member_id).balance == 10
    assert jobs.lots(member_id)[-1][1:4] == (30, 10, "active")
    jobs.assert_ledger_whole()


def test_a_fully_refunded_pending_lot_is_closed_without_an_entry(api, jobs, at, db_backend, pending_version):
    member_id, event = buy(api, at, 30)
    with at("2026-10-26T14:00:00Z"):
        assert api.post(f"/v1/events/{event['event']['id']}/refunds", {"amount": 3000}).status_code == 201
    assert jobs.run(release_pending, AVAILABLE).done == 1
    assert [e.points for e in jobs.entries(member_id, "earn")] == [WELCOME]
    assert jobs.lots(member_id)[-1][1:4] == (30, 0, "active")
    assert jobs.run(release_pending, AVAILABLE).done == 0
    jobs.assert_ledger_whole()
