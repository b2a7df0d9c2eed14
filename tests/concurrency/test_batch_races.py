"""Batches of events racing each other and single events, and a batch killed halfway."""

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.ledger.verify import verify_ledger
from loyalty.models import Event, LedgerEntry
from tests.concurrency.racing import ledger_state, quiet_day, reply, rfc3339
from tests.conftest import ROOT


def _purchase(member_id: str, amount: int, source_id: str, minute: int) -> dict:
    return {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD",
            "source_id": source_id, "occurred_at": rfc3339(quiet_day() + timedelta(minutes=minute))}


def _post_batch(events, key=None):
    def call(client):
        return reply(client.post("/v1/events/batch", {"events": events}, idempotency_key=key))
    return call


def test_racing_batches_and_single_events_on_the_same_members_lose_and_double_nothing(app, api, race, db_backend):
    members = [api.enroll()["id"] for _ in range(5)]
    batches = [[_purchase(members[(b + n) % 5], 100 + n, f"b{b}/{n}", n) for n in range(40)] for b in range(4)]
    singles = [_purchase(members[n % 5], 300, f"s/{n}", n) for n in range(6)]
    calls = [_post_batch(events) for events in batches]
    calls += [lambda client, body=body: reply(client.post("/v1/events", body)) for body in singles]
    replies = race(calls)
    assert [r.status for r in replies] == [200] * 4 + [201] * 6
    earned = Counter()
    for batch in replies[:4]:
        assert [r["status"] for r in batch.body["results"]] == [201] * 40
        for result in batch.body["results"]:
            for award in result["awarded"]:
                earned[award["member_id"]] += award["points"]
    for single in replies[4:]:
        for award in single.body["awarded"]:
            earned[award["member_id"]] += award["points"]
    for member_id in members:
        state = ledger_state(app, member_id)
        assert state.mismatches == []
        assert state.events == 1 + 4 * 8 + (2 if members.index(member_id) == 0 else 1)  # enrolment too
        assert state.balance == state.entries_sum == 50 + earned[member_id]


def test_racing_batches_with_the_same_source_ids_for_other_members_record_each_once(app, api, race, db_backend):
    """Different members, so neither batch waits for the other's locks: the second to write a
    source_id meets the first's row in the unique index, and that event alone is a 409."""
    ana, ben = api.enroll()["id"], api.enroll()["id"]
    shared = [f"order-{n}" for n in range(30)]
    replies = race([_post_batch([_purchase(ana, 1000, s, n) for n, s in enumerate(shared)]),
                    _post_batch([_purchase(ben, 2000, s, n) for n, s in enumerate(shared)])])
    statuses = [[r["status"] for r in each.body["results"]] for each in replies]
    for n in range(30):
        assert sorted([statuses[0][n], statuses[1][n]]) == [201, 409]
    with app.app_context():
        recorded = db.session.execute(sa.select(Event.source_id, Event.member_id)
                                      .where(Event.source_id.in_(shared))).all()
        assert len(recorded) == 30
        for member_id, each in ((ana, replies[0]), (ben, replies[1])):
            won = [r for r in each.body["results"] if r["status"] == 201]
            assert sum(1 for _, owner in recorded if owner == member_id) == len(won)
            earned = db.session.scalar(sa.select(sa.func.sum(LedgerEntry.points)).where(
                LedgerEntry.member_id == member_id, LedgerEntry.type == "earn"))
            assert earned == 50 + sum(a["points"] for r in won for a in r["awarded"])
        assert verify_ledger(db.session()) == []


CRASHING_BATCH = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, os.environ["ROOT"])
    from config import TestingConfig
    from loyalty import create_app
    from loyalty.services import event_batch

    applied = 0
    apply_event = event_batch.apply_event

    def dying(*args, **kwargs):
        global applied
        applied += 1
        if applied > int(os.environ["DIE_AFTER"]):
            os._exit(9)  # no rollback, no cleanup: as if the process were killed
        return apply_event(*args, **kwargs)

    event_batch.apply_event = dying
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"])
    with open(os.environ["BODY"]) as body:
        app.test_client().post("/v1/events/batch", json=json.load(body), headers={
            "Authorization": "Bearer " + os.environ["API_KEY"], "Idempotency-Key": os.environ["KEY"]})
    sys.exit("the batch was not interrupted")
""")


def test_a_batch_killed_halfway_then_replayed_records_every_event_once(
        app, api, pos_key, database_url, tmp_path, db_backend):
    members = [api.enroll()["id"] for _ in range(3)]
    events = [_purchase(members[n % 3], 1000 + n * 10, f"till/{n}", n) for n in range(60)]
    body = tmp_path / "batch.json"
    body.write_text(json.dumps({"events": events}))
    key = uuid.uuid4().hex
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_BATCH], capture_output=True, text=True, timeout=120,
        env={**os.environ, "ROOT": str(ROOT), "DATABASE_URL": database_url, "API_KEY": pos_key, "KEY": key,
             "BODY": str(body), "DIE_AFTER": "30"})
    assert crashed.returncode == 9, crashed.stderr[-2000:]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(Event.type == "purchase")) == 0
        db.session.remove()
    replayed = api.post("/v1/events/batch", {"events": events}, idempotency_key=key)
    assert replayed.status_code == 200
    assert [r["status"] for r in replayed.get_json()["results"]] == [201] * 60
    again = api.post("/v1/events/batch", {"events": events}, idempotency_key=key)
    assert again.get_data() == replayed.get_data() and again.headers.get("Idempotent-Replayed") == "true"
    with app.app_context():
        counts = Counter(db.session.scalars(sa.select(Event.source_id).where(Event.type == "purchase")))
        assert counts == Counter(e["source_id"] for e in events)
        db.session.remove()
    for n, member_id in enumerate(members):
        expected = sum((1000 + i * 10) // 100 for i in range(n, 60, 3))
        state = ledger_state(app, member_id)
        assert (state.balance, state.mismatches) == (50 + expected, [])
