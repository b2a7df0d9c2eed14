"""Racing writers on SQLite and PostgreSQL: no lost update, no double event, no double refund.

Every test here starts its threads behind one barrier so the requests really
overlap; each thread has its own test client, and so its own app context,
session and database connection.
"""

import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from loyalty.db.transactions import WRITE_OPTION, lock_members, write_transaction
from loyalty.extensions import db
from loyalty.models import Event, LedgerEntry
from loyalty.services import counters
from tests.concurrency.racing import count_events, ledger_state, quiet_day, reply, rfc3339

WELCOME = 50  # rules/program.yaml: welcome bonus on enrolment
PURCHASE_RULES = ("spend", "coffee-bonus", "holiday-double")
DAILY_CAP = 2000  # rules/program.yaml: purchase-daily


def purchase_body(member_id, amount, source_id=None, occurred_at=None):
    return {"type": "purchase", "member_id": member_id, "amount": amount, "currency": "USD",
            "source_id": source_id or uuid.uuid4().hex, "occurred_at": rfc3339(occurred_at or quiet_day())}


def post_event(body, key=None):
    return lambda client: reply(client.post("/v1/events", body, idempotency_key=key))


def assert_ledger_consistent(app, member_id, balance):
    state = ledger_state(app, member_id)
    assert state.balance == balance
    assert state.entries_sum == balance
    assert state.active_lots_remaining == max(balance, 0)
    assert state.negative_lots == 0
    assert state.mismatches == []
    return state


def test_fifty_concurrent_purchases_lose_no_update(app, api, race, db_backend):
    member = api.enroll()
    when = quiet_day()
    # 1..5 dollars each: 150 points in all, under the silver threshold and the daily cap,
    # so the total does not depend on the order the purchases land in.
    amounts = [100 * (1 + i % 5) for i in range(50)]
    per_thread = [amounts[i::10] for i in range(10)]

    def buyer(thread_amounts):
        def call(client):
            return [reply(client.post("/v1/events", purchase_body(member["id"], amount, occurred_at=when)))
                    for amount in thread_amounts]
        return call

    replies = [r for batch in race([buyer(batch) for batch in per_thread]) for r in batch]

    assert [r.status for r in replies] == [201] * 50, [r.body for r in replies if r.status != 201]
    assert sum(a["points"] for r in replies for a in r.body["awarded"]) == sum(a // 100 for a in amounts)
    expected = WELCOME + sum(a // 100 for a in amounts)
    assert api.member(member["id"])["points"]["balance"] == expected
    state = assert_ledger_consistent(app, member["id"], expected)
    assert state.events == 51  # the enrolment and the 50 purchases
    # every running balance the ledger recorded is distinct: no two writers saw the same balance
    with app.app_context():
        after = db.session.scalars(sa.select(LedgerEntry.balance_after)
                                   .where(LedgerEntry.member_id == member["id"])).all()
        db.session.remove()
    assert len(after) == len(set(after)) == 51
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_same_key_same_body_racing_records_one_event_and_replays(app, api, race, db_backend):
    member = api.enroll()
    body = purchase_body(member["id"], 1234)
    key = uuid.uuid4().hex

    replies = race([post_event(body, key)] * 20)

    assert [r.status for r in replies] == [201] * 20, [r.body for r in replies]
    assert len({r.raw for r in replies}) == 1
    assert sorted(r.replayed for r in replies) == [False] + [True] * 19
    assert count_events(app, source_id=body["source_id"]) == 1
    assert_ledger_consistent(app, member["id"], WELCOME + 12)


def test_same_key_different_bodies_racing_never_records_two_events(app, api, race, db_backend):
    member = api.enroll()
    key = uuid.uuid4().hex
    bodies = [purchase_body(member["id"], 1000), purchase_body(member["id"], 2000)]

    replies = race([post_event(bodies[i % 2], key) for i in range(12)])

    created = [(i, r) for i, r in enumerate(replies) if r.status == 201]
    conflicts = [r for r in replies if r.status != 201]
    assert [r.replayed for _, r in created].count(False) == 1
    winner = created[0][0] % 2
    assert {i % 2 for i, _ in created} == {winner}, "only the first body's retries may replay"
    assert len(created) == 6 and len({r.raw for _, r in created}) == 1
    assert [(r.status, r.error_code) for r in conflicts] == [(409, "idempotency_conflict")] * 6
    assert count_events(app, source_id=[b["source_id"] for b in bodies]) == 1
    assert_ledger_consistent(app, member["id"], WELCOME + bodies[winner]["amount"] // 100)


def test_same_source_id_with_different_keys_racing_records_one_event(app, api, race, db_backend):
    member = api.enroll()
    body = purchase_body(member["id"], 1500)

    replies = race([post_event(body)] * 12)

    assert sorted(r.status for r in replies) == [201] + [409] * 11
    assert {r.error_code for r in replies if r.status == 409} == {"idempotency_conflict"}
    assert not any(r.replayed for r in replies)
    assert count_events(app, source_id=body["source_id"]) == 1
    assert_ledger_consistent(app, member["id"], WELCOME + 15)


def test_same_source_id_for_two_members_racing_records_one_event(app, api, race, db_backend):
    """No member lock is shared here: only the unique source_id can keep the second out."""
    members = [api.enroll()["id"], api.enroll()["id"]]
    source_id = uuid.uuid4().hex

    replies = race([post_event(purchase_body(members[i % 2], 1500, source_id=source_id)) for i in range(10)])

    assert sorted(r.status for r in replies) == [201] + [409] * 9, [r.body for r in replies]
    assert {r.error_code for r in replies if r.status == 409} == {"idempotency_conflict"}
    assert count_events(app, source_id=source_id) == 1
    for member_id in members:
        state = ledger_state(app, member_id)
        assert state.balance in (WELCOME, WELCOME + 15)
        assert_ledger_consistent(app, member_id, state.balance)


def test_racing_enrolments_with_one_external_id_enrol_once(app, api, race, db_backend):
    external_id = uuid.uuid4().hex

    def enrol(index):
        key = None if index % 2 else False  # with a fresh Idempotency-Key, and without one
        return lambda client: reply(client.post("/v1/members", {"external_id": external_id},
                                                idempotency_key=key))

    replies = race([enrol(i) for i in range(10)])

    assert sorted(r.status for r in replies) == [201] + [409] * 9, [r.body for r in replies]
    [winner] = [r.body for r in replies if r.status == 201]
    for loser in (r for r in replies if r.status == 409):
        assert loser.error_code == "member_exists"
        assert loser.body["error"]["details"] == {"member_id": winner["id"]}
    found = api.get(f"/v1/members?external_id={external_id}").get_json()["data"]
    assert [m["id"] for m in found] == [winner["id"]]
    assert_ledger_consistent(app, winner["id"], WELCOME)


def test_daily_cap_holds_under_concurrent_large_purchases(app, api, race, db_backend):
    member = api.enroll()
    when = quiet_day()

    replies = race([post_event(purchase_body(member["id"], 100_000, occurred_at=when)) for _ in range(8)])

    assert [r.status for r in replies] == [201] * 8, [r.body for r in replies]
    awarded = sum(a["points"] for r in replies for a in r.body["awarded"] if a["rule_id"] in PURCHASE_RULES)
    assert awarded == DAILY_CAP  # eight $1,000 purchases would earn 8,000+ without the cap
    with app.app_context():
        posted = db.session.scalar(
            sa.select(sa.func.sum(LedgerEntry.points))
            .where(LedgerEntry.member_id == member["id"], LedgerEntry.rule_id.in_(PURCHASE_RULES)))
        usage = [used for (counter, _), used in counters.counters_of(db.session(), member["id"]).items()
                 if counter == "cap:purchase-daily"]
        db.session.remove()
    assert posted == DAILY_CAP
    assert usage == [DAILY_CAP]
    assert_ledger_consistent(app, member["id"], WELCOME + DAILY_CAP)


def test_racing_full_refunds_reverse_the_points_once(app, api, race, db_backend):
    member = api.enroll()
    event = api.purchase(member["id"], 5000, occurred_at=rfc3339(quiet_day()))
    earned = sum(a["points"] for a in event["awarded"])
    assert earned == 50
    refund = {"amount": 5000}

    replies = race([lambda c: reply(c.post(f"/v1/events/{event['event']['id']}/refunds", refund))] * 10)

    assert sorted(r.status for r in replies) == [201] + [409] * 9, [r.body for r in replies]
    assert {r.error_code for r in replies if r.status == 409} == {"invalid_state"}
    [done] = [r.body for r in replies if r.status == 201]
    assert done["reversed_points"] == earned
    with app.app_context():
        row = db.session.get(Event, event["event"]["id"])
        assert (row.refunded_amount, row.reversed_points, row.refundable_points) == (5000, earned, earned)
        db.session.remove()
    assert_ledger_consistent(app, member["id"], WELCOME)


def test_racing_partial_refunds_never_exceed_what_was_paid(app, api, race, db_backend):
    member = api.enroll()
    event = api.purchase(member["id"], 5000, occurred_at=rfc3339(quiet_day()))

    replies = race([lambda c: reply(c.post(f"/v1/events/{event['event']['id']}/refunds",
                                           {"amount": 1000}))] * 10)

    assert sorted(r.status for r in replies) == [201] * 5 + [409] * 5, [r.body for r in replies]
    assert {r.error_code for r in replies if r.status == 409} == {"invalid_state"}
    assert sum(r.body["reversed_points"] for r in replies if r.status == 201) == 50
    assert_ledger_consistent(app, member["id"], WELCOME)


# --- the locks themselves -------------------------------------------------------------------


def _busy_timeout(connection, milliseconds: int) -> None:
    """Straight on the sqlite3 connection (autocommit), so no transaction is begun for it."""
    connection.connection.driver_connection.execute(f"PRAGMA busy_timeout={milliseconds}")


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_sqlite_write_transactions_take_the_write_lock_up_front(app, db_backend):
    """A second BEGIN IMMEDIATE cannot start while the first is open; a plain read still can."""
    with app.app_context():
        engine = db.engine
        holder = engine.connect().execution_options(**{WRITE_OPTION: True})
        reader = engine.connect()
        writer = engine.connect().execution_options(**{WRITE_OPTION: True})
        try:
            holder.begin()  # nothing written yet: the lock is taken by BEGIN IMMEDIATE itself
            with reader.begin():  # a deferred reader is not blocked (WAL) ...
                assert reader.scalar(sa.text("SELECT count(*) FROM members")) == 0
            _busy_timeout(writer, 50)  # ... but a second writer is, until its busy timeout runs out
            started = time.monotonic()
            with pytest.raises(OperationalError, match="database is locked"):
                writer.begin()
            assert time.monotonic() - started >= 0.04
            if writer.in_transaction():
                writer.rollback()
            holder.commit()
            with writer.begin():  # free again once the first commits
                pass
        finally:
            _busy_timeout(writer, 30000)
            for connection in (writer, reader, holder):
                connection.close()


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_sqlite_second_writer_waits_for_the_first_to_commit(app, db_backend):
    with app.app_context():
        engine = db.engine
        holder = engine.connect().execution_options(**{WRITE_OPTION: True})
        holder.begin()
        waited = {}

        def second_writer():
            with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
                started = time.monotonic()
                with connection.begin():
                    waited["seconds"] = time.monotonic() - started

        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.3)
        assert thread.is_alive() and not waited, "the second BEGIN IMMEDIATE did not wait"
        holder.commit()
        holder.close()
        thread.join(30)
        assert not thread.is_alive()
        assert waited["seconds"] >= 0.25


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_sqlite_write_transaction_begins_immediate_and_reads_begin_deferred(app, db_backend):
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            db.session.scalar(sa.text("SELECT 1"))
            db.session.commit()
            with write_transaction(db.session()):
                lock_members(db.session(), ["mem_nobody"])
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
            db.session.remove()
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN", "BEGIN IMMEDIATE"]


@pytest.mark.parametrize("db_backend", ["postgres"])
def test_postgres_lock_members_locks_the_member_row(app, api, db_backend):
    member_id = api.enroll()["id"]
    bystander_id = api.enroll()["id"]
    nowait = sa.text("SELECT id FROM members WHERE id = :id FOR UPDATE NOWAIT")
    with app.app_context():
        other = db.engine.connect()
        try:
            with write_transaction(db.session()) as session:
                locked = lock_members(session, [member_id])
                assert list(locked) == [member_id]
                with pytest.raises(OperationalError, match="could not obtain lock"):
                    with other.begin():
                        other.execute(nowait, {"id": member_id})
                with other.begin():  # another member's row is free
                    assert other.scalar(nowait, {"id": bystander_id}) == bystander_id
            with other.begin():  # and this one is free once the holder commits
                assert other.scalar(nowait, {"id": member_id}) == member_id
        finally:
            other.close()
            db.session.remove()
