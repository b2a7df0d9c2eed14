"""Pooled PostgreSQL connections are pinged only after sitting idle, and a dead idle one is replaced."""

import time

import pytest
import sqlalchemy as sa

from loyalty.db.transactions import configure_engine

IDLE = 0.2


@pytest.fixture
def engine(database_url, db_backend):
    if db_backend != "postgres":
        pytest.skip("SQLite has no connection to lose")
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    configure_engine(engine, ping_idle_after=IDLE)
    pings = []
    ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection):
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted_ping
    engine.pings = pings
    yield engine
    engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()


def test_a_connection_handed_back_a_moment_ago_is_not_pinged(engine):
    first = backend_pid(engine)
    for _ in range(5):
        assert backend_pid(engine) == first
    assert engine.pings == []


def test_a_connection_idle_for_a_while_is_pinged_once(engine):
    first = backend_pid(engine)
    time.sleep(IDLE * 1.5)
    assert backend_pid(engine) == first
    assert len(engine.pings) == 1
    backend_pid(engine)
    assert len(engine.pings) == 1


@pytest.mark.direct_connection
def test_an_idle_connection_the_database_dropped_is_replaced_before_use(engine, database_url):
    first = backend_pid(engine)
    killer = sa.create_engine(database_url)
    with killer.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
    killer.dispose()
    time.sleep(IDLE * 1.5)
    assert backend_pid(engine) != first  # no error reached the caller
    assert len(engine.pings) == 1


@pytest.mark.direct_connection
def test_without_the_idle_ping_a_dropped_connection_fails_its_first_use(database_url, db_backend):
    """What the ping saves a request from (and what a connection dropped under load still costs)."""
    if db_backend != "postgres":
        pytest.skip("SQLite has no connection to lose")
    engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
    configure_engine(engine, ping_idle_after=None)
    try:
        first = backend_pid(engine)
        killer = sa.create_engine(database_url)
        with killer.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        killer.dispose()
        time.sleep(IDLE)
        with pytest.raises(sa.exc.OperationalError):
            backend_pid(engine)
        assert backend_pid(engine) != first
    finally:
        engine.dispose()
