"""The default rate limit store: fixed windows in a SQLite file every worker of a host opens."""

import sqlite3
import threading

from freezegun import freeze_time
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from config import TestingConfig
from loyalty import create_app
from loyalty.http.limits import SqliteStorage, default_storage_uri
from tests.ops.test_rate_limits import assert_rate_limited

FIVE_PER_MINUTE = parse("5 per minute")


def store(tmp_path) -> SqliteStorage:
    return storage_from_string(f"sqlite:///{tmp_path / 'limits.db'}")


def test_a_window_counts_its_hits_then_starts_again_when_it_is_over(tmp_path):
    limits = store(tmp_path)
    with freeze_time("2026-11-23 14:05:00") as clock:
        assert [limits.incr("till-1", 60) for _ in range(3)] == [1, 2, 3]
        assert limits.get("till-1") == 3 and limits.get("till-2") == 0
        assert limits.get_expiry("till-1") == clock().timestamp() + 60
        clock.tick(59)
        assert limits.incr("till-1", 60) == 4
        clock.tick(1)
        assert limits.get("till-1") == 0
        assert limits.incr("till-1", 60) == 1
        assert limits.get_expiry("till-1") == clock().timestamp() + 60


def test_stores_opened_on_one_file_share_the_count(tmp_path):
    """As two workers do: neither may let through what the other already did."""
    one, two = store(tmp_path), store(tmp_path)
    limiters = [FixedWindowRateLimiter(one), FixedWindowRateLimiter(two)]
    allowed = [limiters[i % 2].hit(FIVE_PER_MINUTE, "till-1") for i in range(10)]
    assert allowed == [True] * 5 + [False] * 5


def test_threads_racing_on_one_file_are_counted_exactly(tmp_path):
    limits = [store(tmp_path) for _ in range(4)]
    barrier = threading.Barrier(len(limits))
    seen = []

    def hit(storage):
        barrier.wait()
        seen.extend(storage.incr("till-1", 60) for _ in range(50))

    threads = [threading.Thread(target=hit, args=(storage,)) for storage in limits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 201))


def test_clear_and_reset_forget_counts(tmp_path):
    limits = store(tmp_path)
    limits.incr("till-1", 60)
    limits.incr("till-2", 60)
    limits.clear("till-1")
    assert limits.get("till-1") == 0 and limits.get("till-2") == 1
    assert limits.reset() == 1 and limits.get("till-2") == 0
    assert limits.check()


def test_the_store_lies_beside_a_sqlite_database_else_in_the_instance_folder(tmp_path):
    beside = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/shop.db")
    assert default_storage_uri(beside) == f"sqlite:///{tmp_path.resolve()}/shop-ratelimits.db"
    elsewhere = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://db.internal/loyalty")
    assert default_storage_uri(elsewhere).endswith("/instance/ratelimits.db")


def test_the_app_counts_in_the_file_and_answers_429_in_the_contract_shape(api, database_url):
    path = database_url.removeprefix("sqlite:///").removesuffix(".db") + "-ratelimits.db"
    limited = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_STORAGE_URI=None,
                         RATELIMIT_PER_KEY="2 per minute", RATELIMIT_KEY_PREFIX="store-test")
    client = limited.test_client()
    answers = [client.get("/v1/members/mem_nope", headers=api.headers(idempotency_key=False)) for _ in range(3)]
    assert [answer.status_code for answer in answers[:2]] == [404, 404]
    assert_rate_limited(answers[2])
    assert store_file_counts(path) == 3


def store_file_counts(path: str) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT sum(hits) FROM windows").fetchone()[0]
