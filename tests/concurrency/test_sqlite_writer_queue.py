"""On a SQLite file, a write transaction holds the writers' flock beside the database for its whole life.

A writer waits for its turn at most ``SQLITE_BUSY_SECONDS``, then fails as
SQLite fails a writer it kept waiting that long: a 503, nothing written.
"""

import fcntl
import os
import threading
import time
from contextlib import contextmanager

import pytest

from loyalty.db import transactions
from loyalty.db.transactions import write_transaction
from loyalty.extensions import db


@pytest.fixture
def lock_path(app, database_url):
    if not database_url.startswith("sqlite:///"):
        pytest.skip("the writers' queue is SQLite's")
    return database_url.removeprefix("sqlite:///") + "-writer.lock"


def lock_is_free(path: str) -> bool:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)


def test_the_lock_is_held_from_begin_to_commit_and_freed_after(app, lock_path):
    with app.app_context():
        with write_transaction(db.session()):
            assert not lock_is_free(lock_path)
        assert lock_is_free(lock_path)
        db.session.remove()


def test_the_lock_is_freed_when_the_transaction_fails(app, lock_path):
    with app.app_context():
        with pytest.raises(RuntimeError), write_transaction(db.session()):
            raise RuntimeError("the change failed")
        assert lock_is_free(lock_path)
        db.session.remove()


def test_a_second_writer_waits_for_the_first_to_commit(app, lock_path):
    """Threads queue too: each turn opens the lock file anew, so two threads never share a lock."""
    inside, release, order = threading.Event(), threading.Event(), []

    def first():
        with app.app_context():
            with write_transaction(db.session()):
                order.append("first in")
                inside.set()
                release.wait(10)
                order.append("first out")
            db.session.remove()

    def second():
        inside.wait(10)
        with app.app_context():
            with write_transaction(db.session()):
                order.append("second in")
            db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(10)
    assert not lock_is_free(lock_path)
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first out", "second in"]


@contextmanager
def held(path: str):
    """The writers' lock held by someone else (another process, say) until the block ends."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(descriptor)


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_writer_that_never_gets_its_turn_fails_with_a_503_and_writes_nothing(app, api, lock_path, monkeypatch):
    monkeypatch.setattr(transactions, "SQLITE_BUSY_SECONDS", 0.3)
    member = api.enroll()
    body = {"type": "purchase", "member_id": member["id"], "amount": 1250, "currency": "USD"}
    answers = []
    with held(lock_path):
        started = time.monotonic()
        writer = threading.Thread(target=lambda: answers.append(
            api.post("/v1/events", body, idempotency_key="till-7-sale-1")))
        writer.start()
        writer.join(5)
        waited = time.monotonic() - started
        assert answers, "the writer still waits for its turn"
    writer.join(5)
    refused = answers[0]
    assert refused.status_code == 503, refused.get_json()
    assert refused.get_json()["error"]["code"] == "unavailable"
    assert refused.headers["Retry-After"] == "1"
    assert 0.3 <= waited < 5
    assert wait_until(lambda: lock_is_free(lock_path)), "the abandoned wait kept the lock"
    assert api.member(member["id"])["points"]["balance"] == 50  # the welcome bonus alone

    retried = api.post("/v1/events", body, idempotency_key="till-7-sale-1")
    assert retried.status_code == 201, retried.get_json()
    assert "Idempotent-Replayed" not in retried.headers
    assert api.member(member["id"])["points"]["balance"] == 50 + 12


def test_a_writer_waits_for_a_lock_freed_within_the_timeout(app, api, lock_path, monkeypatch):
    monkeypatch.setattr(transactions, "SQLITE_BUSY_SECONDS", 10.0)
    member = api.enroll()
    body = {"type": "purchase", "member_id": member["id"], "amount": 1250, "currency": "USD"}
    with held(lock_path):
        answers = []
        writer = threading.Thread(target=lambda: answers.append(api.post("/v1/events", body)))
        writer.start()
        time.sleep(0.3)
        assert writer.is_alive() and not answers  # still waiting for its turn
    writer.join(10)
    assert answers[0].status_code == 201, answers[0].get_json()
    assert lock_is_free(lock_path)
