"""Expiry in batches: a run stopped after N batches resumes; two runs at once expire nothing twice."""

import threading

import pytest

from loyalty.services.expiry import expire_points

EARNED = "2026-05-04T16:00:00Z"
DUE = "2027-05-04T16:00:00Z"  # 12 months on, New York clock


def test_a_run_stopped_after_some_batches_resumes_and_expires_every_lot_once(api, jobs, at, db_backend):
    members = jobs.seed(12, EARNED, dollars=3)
    lots = 2 * len(members)

    first = jobs.run(expire_points, DUE, batch_size=5, max_batches=2)
    assert first.stopped and first.batches == 2
    assert 0 < first.done < lots
    jobs.assert_ledger_whole()  # every committed batch is whole: balances equal ledger sums

    rest = jobs.run(expire_points, DUE, batch_size=5)
    assert not rest.stopped
    assert first.done + rest.done == lots
    assert jobs.expired_once() == lots
    assert {jobs.member(m).balance for m in members} == {0}
    assert jobs.run(expire_points, DUE).done == 0
    jobs.assert_ledger_whole()


def run_together(jobs, calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def worker(index, call):
        try:
            barrier.wait(timeout=60)
            results[index] = call()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results


@pytest.mark.parametrize("runs", [2, 3])
def test_expiry_jobs_started_together_expire_nothing_twice(api, jobs, at, db_backend, runs):
    members = jobs.seed(16, EARNED, dollars=3)
    results = run_together(jobs, [lambda: jobs.run(expire_points, DUE, batch_size=3)] * runs)
    assert sum(r.done for r in results) == 2 * len(members)
    assert all(r.busy == 0 for r in results)
    assert jobs.expired_once() == 2 * len(members)
    assert {jobs.member(m).balance for m in members} == {0}
    jobs.assert_ledger_whole()


def test_redemptions_racing_the_expiry_never_spend_an_expiring_lot_twice(api, jobs, at, db_backend):
    members = jobs.seed(8, EARNED, dollars=200)   # 50 welcome + 200, all due at DUE
    with at("2026-06-01T16:00:00Z"):
        for member_id in members:
            api.purchase(member_id, 20000)          # 200 more, due a month later

    def redeem_all():
        with at("2027-05-04T16:00:00Z"):
            return [api.post(f"/v1/members/{m}/redemptions", {"reward_id": "free-drink"}).status_code
                    for m in members]

    statuses, expired = run_together(jobs, [redeem_all, lambda: jobs.run(expire_points, DUE, batch_size=4)])
    assert set(statuses) == {201}                   # 200 unexpired points are always enough
    for member_id in members:
        assert jobs.member(member_id).balance == 200 - 150
    assert expired.done == len(members) * 2
    jobs.assert_ledger_whole()
