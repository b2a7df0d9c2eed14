"""Expiry in batches: a run stopped after N batches resumes; two runs at once expire nothing twice."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.models import LedgerEntry
from loyalty.services.expiry import expire_points

ROOT = Path(__file__).resolve().parents[2]
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


def test_a_jobs_process_killed_mid_run_loses_nothing_and_doubles_nothing(jobs, database_url, db_backend):
    """`flask jobs run` is SIGKILLed between or inside batches; the next run expires the rest, once."""
    members = jobs.seed(30, "2025-06-02T16:00:00Z", dollars=3)   # due 2026-06-02: in the past, as --now must be
    env = {**os.environ, "LOYALTY_ENV": "production", "SECRET_KEY": "jobs-test", "DATABASE_URL": database_url,
           "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "jobs", "run", "--step", "expire-points",
         "--batch-size", "1", "--now", "2026-06-02T16:00:00Z"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while expire_entries(jobs) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    done_before = expire_entries(jobs)
    assert 0 < done_before < 60, process.stderr.read().decode()
    jobs.assert_ledger_whole()

    rest = jobs.run(expire_points, "2026-06-02T16:00:00Z")
    assert done_before + rest.done == 60
    assert jobs.expired_once() == 60
    assert {jobs.member(m).balance for m in members} == {0}


def expire_entries(jobs) -> int:
    with jobs.app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).where(LedgerEntry.type == "expire"))
        db.session.remove()
    return count
