"""Races across two gunicorn servers sharing one PostgreSQL database.

Separate server processes share nothing but the database, so these prove the
guarantees live there: refunds never exceed what was paid nor reverse more
than was earned; one Idempotency-Key records one event however many servers
it reaches at once; and the expiry job, in a process of its own, expires
every due lot exactly once while redemptions race it and never spends an
expired point.
"""

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.models import Event, LedgerEntry, Lot, LotDraw, Refund
from loyalty.services.expiry import expire_points
from tests.concurrency.racing import count_events, ledger_state, quiet_day, rfc3339
from tests.concurrency.servers import ROOT, gunicorn_server, post, race_http
from tests.jobs.conftest import Jobs

pytestmark = pytest.mark.parametrize("db_backend", ["postgres"])

WELCOME = 50
DRINK = 150  # rules/program.yaml: free-drink


@pytest.fixture(scope="module")
def servers(postgres_database, tmp_path_factory):
    """Started once for the module: each test empties the database first, and the servers keep
    nothing of their own between requests (rules are cached by content, keys looked up each time)."""
    logs = tmp_path_factory.mktemp("servers")
    with (gunicorn_server(postgres_database, log=logs / "first.log") as first,
          gunicorn_server(postgres_database, log=logs / "second.log") as second):
        yield [first, second]


def across(servers, calls):
    """Race ``calls`` (each taking a server's base URL), dealt to the servers in turn."""
    return race_http([(lambda call=call, base=servers[i % 2]: call(base)) for i, call in enumerate(calls)])


# --------------------------------------------------------------------------- refunds


def test_racing_partial_refunds_on_two_servers_never_exceed_the_amount_or_the_points(
        app, api, pos_key, servers, db_backend):
    member = api.enroll()
    purchase = api.purchase(member["id"], 1250, occurred_at=rfc3339(quiet_day()))
    event_id = purchase["event"]["id"]
    earned = sum(a["points"] for a in purchase["awarded"])
    assert earned == 12

    replies = across(servers, [lambda base: post(base, f"/v1/events/{event_id}/refunds", {"amount": 200}, pos_key)]
                     * 10)

    # 10 × $2 against $12.50: six fit ($12), the others would exceed what was paid.
    assert Counter(r.status for r in replies) == {201: 6, 409: 4}, [r.body for r in replies]
    assert {r.error_code for r in replies if r.status == 409} == {"invalid_state"}
    reversed_total = sum(r.body["reversed_points"] for r in replies if r.status == 201)
    assert reversed_total == earned * 1200 // 1250 == 11  # floor(P × r / a)
    with app.app_context():
        row = db.session.get(Event, event_id)
        refunds = db.session.execute(sa.select(sa.func.count(), sa.func.sum(Refund.amount),
                                               sa.func.sum(Refund.reversed_points))
                                     .where(Refund.event_id == event_id)).one()
        db.session.remove()
    assert (row.refunded_amount, row.reversed_points) == (1200, reversed_total)
    assert tuple(refunds) == (6, 1200, reversed_total)
    state = ledger_state(app, member["id"])
    assert state.balance == state.entries_sum == WELCOME + earned - reversed_total
    assert state.negative_lots == 0 and state.mismatches == []


# --------------------------------------------------------------------------- idempotency keys


def event_body(member_id: str, amount: int = 1000) -> dict:
    return {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD",
            "source_id": uuid.uuid4().hex, "occurred_at": rfc3339(quiet_day())}


def test_one_key_sent_20_times_to_two_servers_records_one_event_and_replays_it(
        app, api, pos_key, servers, db_backend):
    member = api.enroll()
    key, body = uuid.uuid4().hex, event_body(member["id"])

    replies = across(servers, [lambda base: post(base, "/v1/events", body, pos_key, key)] * 20)

    assert [r.status for r in replies] == [201] * 20, [r.body for r in replies]
    assert len({r.raw for r in replies}) == 1  # byte for byte the first answer
    assert sorted(r.replayed for r in replies) == [False] + [True] * 19
    assert count_events(app, source_id=body["source_id"]) == 1
    state = ledger_state(app, member["id"])
    assert state.balance == state.entries_sum == WELCOME + 10 and state.mismatches == []


def test_one_key_with_two_bodies_on_two_servers_records_one_and_refuses_the_other(
        app, api, pos_key, servers, db_backend):
    member = api.enroll()
    key = uuid.uuid4().hex
    bodies = [event_body(member["id"], 1000), event_body(member["id"], 2000)]

    replies = across(servers, [lambda base, body=bodies[i % 2]: post(base, "/v1/events", body, pos_key, key)
                               for i in range(20)])

    assert Counter(r.status for r in replies) == {201: 10, 409: 10}, [r.body for r in replies]
    assert {r.error_code for r in replies if r.status == 409} == {"idempotency_conflict"}
    accepted = [r for r in replies if r.status == 201]
    assert len({r.raw for r in accepted}) == 1
    assert sorted(r.replayed for r in accepted) == [False] + [True] * 9
    winner = accepted[0].body["event"]["source_id"]
    assert {b["source_id"] for b in bodies} >= {winner}
    assert count_events(app, source_id=[b["source_id"] for b in bodies]) == 1
    points = 10 if winner == bodies[0]["source_id"] else 20
    state = ledger_state(app, member["id"])
    assert state.balance == state.entries_sum == WELCOME + points and state.mismatches == []


# --------------------------------------------------------------------------- expiry


def start_expiry_job(database_url: str, now: datetime) -> subprocess.Popen:
    """``flask jobs run --step expire-points`` in its own process, one member per batch."""
    env = {**os.environ, "LOYALTY_ENV": "production", "SECRET_KEY": "race-test-secret",
           "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "jobs", "run", "--step", "expire-points",
         "--batch-size", "1", "--now", rfc3339(now)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def expire_entries(app) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).where(LedgerEntry.type == "expire"))
        db.session.remove()
    return count


def due_lots(app, now: datetime) -> dict[str, list[int]]:
    """member id → points of each lot due at ``now``."""
    with app.app_context():
        rows = db.session.execute(sa.select(Lot.member_id, Lot.points)
                                  .where(Lot.expires_at <= now).order_by(Lot.id)).all()
        db.session.remove()
    due: dict[str, list[int]] = {}
    for member_id, points in rows:
        due.setdefault(member_id, []).append(points)
    return due


def expired_per_member(app) -> dict[str, list[int]]:
    with app.app_context():
        rows = db.session.execute(sa.select(LedgerEntry.member_id, LedgerEntry.points)
                                  .where(LedgerEntry.type == "expire").order_by(LedgerEntry.seq)).all()
        db.session.remove()
    expired: dict[str, list[int]] = {}
    for member_id, points in rows:
        expired.setdefault(member_id, []).append(-points)
    return expired


def draws_from_expired_lots(app) -> list[tuple]:
    """Redemption draws taken from a lot already past its expiry when the redemption was made."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(LedgerEntry.member_id, Lot.id, LotDraw.points, Lot.expires_at, LedgerEntry.created_at)
            .join(LotDraw, LotDraw.entry_seq == LedgerEntry.seq).join(Lot, Lot.id == LotDraw.lot_id)
            .where(LedgerEntry.type == "redeem", Lot.expires_at <= LedgerEntry.created_at)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def negative_running_balances(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(sa.select(LedgerEntry.member_id, LedgerEntry.type, LedgerEntry.balance_after)
                                  .where(LedgerEntry.balance_after < 0)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_the_expiry_job_racing_redemptions_on_two_servers_expires_each_due_lot_once_and_spends_none(
        app, api, pos_key, servers, database_url, db_backend):
    now = datetime.now(UTC).replace(microsecond=0)
    jobs = Jobs(app)
    members = jobs.seed(24, rfc3339(now - timedelta(days=400)), dollars=200)  # 50 + 200, due a month ago
    for member_id in members:
        api.purchase(member_id, 20000, occurred_at=rfc3339(quiet_day()))   # 200 more, due next year
    due = due_lots(app, now)
    assert {m: sum(points) for m, points in due.items()} == {m: WELCOME + 200 for m in members}
    assert {ledger_state(app, m).balance for m in members} == {WELCOME + 200 + 200}

    job = start_expiry_job(database_url, now)
    try:
        deadline = time.monotonic() + 60
        while expire_entries(app) == 0 and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        replies = across(servers, [
            (lambda base, m=member_id: post(base, f"/v1/members/{m}/redemptions", {"reward_id": "free-drink"},
                                            pos_key))
            for member_id in members for _ in range(3)])
        out, err = job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert job.returncode == 0, err.decode()
    assert "expire-points" in out.decode()
    jobs.run(expire_points, now)  # members a till held all through the job's passes, if any

    # Only the 200 unexpired points were spendable: one drink each, never three.
    assert Counter(r.status for r in replies) == {201: len(members), 409: 2 * len(members)}, \
        Counter(r.error_code for r in replies)
    assert {r.error_code for r in replies if r.status == 409} == {"insufficient_points"}
    assert Counter(r.body["member_id"] for r in replies if r.status == 201) == dict.fromkeys(members, 1)
    assert draws_from_expired_lots(app) == []

    # Every due lot expired exactly once, whole: nothing drew on it, nothing expired twice.
    assert {m: sorted(p) for m, p in expired_per_member(app).items()} == {m: sorted(p) for m, p in due.items()}
    assert jobs.run(expire_points, now).done == 0
    for member_id in members:
        state = ledger_state(app, member_id)
        assert state.balance == state.entries_sum == state.active_lots_remaining == 200 - DRINK
        assert state.negative_lots == 0
        assert state.mismatches == []
    assert negative_running_balances(app) == []
    jobs.assert_ledger_whole()


# --------------------------------------------------------------------------- batches of events


def test_batches_on_two_servers_touching_the_same_members_lose_and_double_nothing(
        app, api, pos_key, servers, db_backend):
    """Six batches over four shared members, half with source_ids another batch also sends:
    every source_id is recorded once, and every member's points are what the 201s awarded."""
    members = [api.enroll()["id"] for _ in range(4)]
    moment = quiet_day()

    def batch(b: int) -> list[dict]:
        return [{"type": "purchase", "member_id": members[(b + n) % 4], "amount": 100 + n, "currency": "USD",
                 "source_id": f"shared/{b % 3}/{n}" if n % 2 else f"own/{b}/{n}",
                 "occurred_at": rfc3339(moment + timedelta(minutes=n))} for n in range(40)]

    replies = across(servers, [lambda base, b=b: post(base, "/v1/events/batch", {"events": batch(b)}, pos_key)
                               for b in range(6)])
    assert [r.status for r in replies] == [200] * 6, [r.body for r in replies]
    earned, recorded = Counter(), Counter()
    for b, each in enumerate(replies):
        for sent, result in zip(batch(b), each.body["results"], strict=True):
            assert result["status"] in (201, 409), result
            if result["status"] == 201:
                recorded[sent["source_id"]] += 1
                for award in result["awarded"]:
                    earned[award["member_id"]] += award["points"]
    assert set(recorded.values()) == {1}
    assert len(recorded) == 6 * 20 + 3 * 20  # own ones, and each shared one once
    assert count_events(app, type="purchase") == len(recorded)
    for member_id in members:
        state = ledger_state(app, member_id)
        assert state.balance == state.entries_sum == WELCOME + earned[member_id]
        assert state.mismatches == []
