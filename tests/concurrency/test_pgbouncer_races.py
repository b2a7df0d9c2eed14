"""Tills racing through PgBouncer in transaction pooling, as shops deploy PostgreSQL.

In transaction mode one client's consecutive transactions run on whichever server connection is
free, so nothing may live in a session: psycopg's server-side prepared statements did, and 36 of
320 accruals from 8 racing tills answered 500 ("prepared statement "_pg3_4" requires 0"). With
``DATABASE_TRANSACTION_POOLER`` set, every accrual is recorded once and nothing else is answered.
"""

import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from config import TestingConfig
from loyalty import create_app
from loyalty.extensions import db
from tests.concurrency.pgbouncer import POOLER_ENV, through_pgbouncer
from tests.concurrency.racing import ledger_state, quiet_day, rfc3339
from tests.concurrency.servers import gunicorn_server, post, race_http

pytestmark = pytest.mark.parametrize("db_backend", ["postgres"])

TILLS = 8
ACCRUALS_PER_TILL = 40
MEMBERS = 4  # two tills per member: their accruals queue on its row lock
WELCOME = 50


def purchase(member_id: str) -> dict:
    return {"type": "purchase", "member_id": member_id, "amount": 100, "currency": "USD",
            "source_id": uuid.uuid4().hex, "occurred_at": rfc3339(quiet_day())}


def till(base: str, key: str, member_id: str):
    def run():
        return [post(base, "/v1/events", purchase(member_id), key, timeout=30) for _ in range(ACCRUALS_PER_TILL)]
    return run


def test_8_tills_racing_through_pgbouncer_record_every_accrual_once(app, api, pos_key, database_url,
                                                                    tmp_path, db_backend):
    url = through_pgbouncer(database_url)
    members = [api.enroll()["id"] for _ in range(MEMBERS)]
    with (gunicorn_server(url, workers=2, log=tmp_path / "a.log", env=POOLER_ENV) as first,
          gunicorn_server(url, workers=2, log=tmp_path / "b.log", env=POOLER_ENV) as second):
        tills = [till((first, second)[i % 2], pos_key, members[i % MEMBERS]) for i in range(TILLS)]
        replies = [reply for replies in race_http(tills) for reply in replies]
    statuses = Counter(reply.status for reply in replies)
    assert statuses == {201: TILLS * ACCRUALS_PER_TILL}, [r.body for r in replies if r.status != 201][:5]
    for member_id in members:
        state = ledger_state(app, member_id)
        accruals = ACCRUALS_PER_TILL * TILLS // MEMBERS
        assert state.events == 1 + accruals
        assert state.balance == state.entries_sum == WELCOME + accruals
        assert state.active_lots_remaining == state.balance and state.mismatches == []


def test_the_migrations_and_the_app_run_through_pgbouncer(database_url, db_backend):
    """``flask db upgrade`` (here: from nothing on a fresh database) and a request, both through it."""
    from flask_migrate import upgrade

    url = sa.engine.make_url(through_pgbouncer(database_url))
    name = f"{url.database}_fresh"
    admin = sa.create_engine(sa.engine.make_url(database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    fresh = url.set(database=name).render_as_string(hide_password=False)
    try:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=fresh, DATABASE_TRANSACTION_POOLER=True)
        with app.app_context():
            upgrade(revision="heads")
            tables = sa.inspect(db.engine).get_table_names()
            db.engine.dispose()
        assert {"members", "events", "ledger_entries", "alembic_version"} <= set(tables)
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
