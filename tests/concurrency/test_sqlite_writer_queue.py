"""On a SQLite file, a write transaction holds the writers' flock beside the database for its whole life."""

import fcntl
import os
import threading

import pytest

from loyalty.extensions import db
from loyalty.transactions import write_transaction


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
