"""A worker killed mid-request, then the client's retry with the same Idempotency-Key.

gunicorn serves ``fault_app.py``: the normal app, whose worker SIGKILLs itself
when a request asks for it (``X-Inject-Fault``), either just before its write
transaction's COMMIT or after COMMIT but before the response leaves. The
client sees its connection drop and retries with the same key and body:

- killed before COMMIT, nothing was written (no event, no redemption, no
  idempotency record, balance untouched), and the retry records it once;
- killed after COMMIT, the retry gets the committed response back (the
  stored body, ``Idempotent-Replayed: true``) and the ledger holds it once.

For ``POST /v1/events`` and ``POST /v1/members/{id}/redemptions``, on a
SQLite file and on PostgreSQL.
"""

import http.client
import json
import uuid

import pytest
import sqlalchemy as sa

from loyalty.extensions import db
from loyalty.models import IdempotencyRecord, Redemption
from tests.concurrency.racing import ledger_state, quiet_day, rfc3339
from tests.concurrency.servers import gunicorn_server, post

WELCOME = 50
DRINK = 150  # rules/program.yaml: free-drink


def purchase(member_id: str) -> tuple[str, dict]:
    return "/v1/events", {"type": "purchase", "member_id": member_id, "amount": 10000, "currency": "USD",
                          "source_id": uuid.uuid4().hex, "occurred_at": rfc3339(quiet_day())}


def redemption(member_id: str) -> tuple[str, dict]:
    return f"/v1/members/{member_id}/redemptions", {"reward_id": "free-drink"}


OPERATIONS = {"event": purchase, "redemption": redemption}
HEADER = "X-Inject-Fault"  # fault_app.HEADER; importing fault_app here would build its app in the test process


def dropped(base: str, path: str, body: dict, key: str, idempotency_key: str, fault: str) -> None:
    """Send the request with a fault; its worker dies, so no answer may arrive."""
    with pytest.raises(OSError) as raised:  # urllib's URLError and http.client's RemoteDisconnected are OSErrors
        post(base, path, body, key, idempotency_key, headers={HEADER: fault}, timeout=30)
    cause = getattr(raised.value, "reason", raised.value)
    assert isinstance(cause, ConnectionError | http.client.RemoteDisconnected), repr(raised.value)


def stored_response(app, idempotency_key: str) -> str | None:
    with app.app_context():
        body = db.session.scalar(sa.select(IdempotencyRecord.body).where(IdempotencyRecord.key == idempotency_key))
        records = db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)
                                    .where(IdempotencyRecord.key == idempotency_key))
        db.session.remove()
    assert records in (0, 1)
    return body if records else None


def redemptions_of(app, member_id: str) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Redemption)
                                  .where(Redemption.member_id == member_id))
        db.session.remove()
    return count


def footprint(app, member_id: str) -> tuple[int, int, int]:
    """(balance, events, redemptions) of the member, after checking balance = Σ entries = Σ lots."""
    state = ledger_state(app, member_id)
    assert state.balance == state.entries_sum == state.active_lots_remaining
    assert state.negative_lots == 0 and state.mismatches == []
    return state.balance, state.events, redemptions_of(app, member_id)


@pytest.fixture
def member(app, api) -> str:
    """A member with exactly one free drink's worth of points (50 welcome + 100 for $100)."""
    member_id = api.enroll()["id"]
    api.purchase(member_id, 10000, occurred_at=rfc3339(quiet_day()))
    assert footprint(app, member_id)[0] == WELCOME + 100
    return member_id


@pytest.fixture
def server(database_url, tmp_path):
    log = tmp_path / "gunicorn.log"
    with gunicorn_server(database_url, workers=1, wsgi="tests.reliability.fault_app:app", log=log) as base:
        yield base
    print(log.read_text()[-20000:])  # shown by pytest when the test failed


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_worker_killed_just_before_commit_writes_nothing_and_the_retry_counts_once(
        app, member, server, pos_key, db_backend, operation):
    before = footprint(app, member)
    path, body = OPERATIONS[operation](member)
    key = uuid.uuid4().hex

    dropped(server, path, body, pos_key, key, "before-commit")
    assert footprint(app, member) == before
    assert stored_response(app, key) is None

    retry = post(server, path, body, pos_key, key)
    assert retry.status == 201, retry.body
    assert not retry.replayed
    again = post(server, path, body, pos_key, key)
    assert (again.status, again.raw, again.replayed) == (201, retry.raw, True)
    assert footprint(app, member) == expected_after(before, operation)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_worker_killed_after_commit_answers_the_retry_with_the_committed_result(
        app, member, server, pos_key, db_backend, operation):
    before = footprint(app, member)
    path, body = OPERATIONS[operation](member)
    key = uuid.uuid4().hex

    dropped(server, path, body, pos_key, key, "after-commit")
    committed = stored_response(app, key)
    assert committed is not None
    assert footprint(app, member) == expected_after(before, operation)

    retry = post(server, path, body, pos_key, key)
    assert (retry.status, retry.replayed) == (201, True)
    assert retry.raw.decode() == committed
    assert retry.body == json.loads(committed)
    assert footprint(app, member) == expected_after(before, operation)
    assert_answer_matches_ledger(retry.body, operation, footprint(app, member))


def expected_after(before: tuple[int, int, int], operation: str) -> tuple[int, int, int]:
    balance, events, redeemed = before
    if operation == "event":
        return balance + 100, events + 1, redeemed
    return balance - DRINK, events, redeemed + 1


def assert_answer_matches_ledger(answer: dict, operation: str, state: tuple[int, int, int]) -> None:
    if operation == "event":
        assert answer["member"]["points"]["balance"] == state[0]
        assert sum(award["points"] for award in answer["awarded"]) == 100
    else:
        assert (answer["status"], answer["points_spent"]) == ("issued", DRINK)
